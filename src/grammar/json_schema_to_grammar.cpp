#include "grammar/json_schema_to_grammar.h"

#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "grammar/json_string_content.h"
#include "grammar/numeric_ranges.h"
#include "grammar/regex_to_grammar.h"
#include "grammar/utf8_ranges.h"

namespace xy::grammar {
namespace {

using Json = nlohmann::ordered_json;

// Rule names of the shared JSON building blocks.
constexpr const char* kWs = "json_ws";
constexpr const char* kValue = "json_value";
constexpr const char* kObject = "json_object";
constexpr const char* kArray = "json_array";
constexpr const char* kString = "json_string";
constexpr const char* kChar = "json_char";
constexpr const char* kNumber = "json_number";
constexpr const char* kInteger = "json_integer";
constexpr int kMaxDigits = 16;

Expr lit(const std::string& s) {
  return Expr::literal(s);
}
Expr rule_ref(const std::string& s) {
  return Expr::ref(s);
}
Expr ws() {
  return rule_ref(kWs);
}

Expr digits(int min, int max) {
  return Expr::repeat(Expr::cls({{'0', '9'}}), min, max);
}

void define_common(GrammarBuilder& b, const JsonSchemaOptions& options) {
  if (b.has_rule(kWs)) return;
  if (options.indentation) {
    b.define(
        kWs,
        Expr::optional(Expr::alt(
            {lit(" "),
             Expr::seq({lit("\n"), Expr::repeat(Expr::cls({{' ', ' '}, {'\t', '\t'}}), 0, 20)})})));
  } else {
    b.define(kWs, Expr::optional(lit(" ")));
  }
  b.define(
      kChar,
      Expr::alt(
          {Expr::cls({{'"', '"'}, {'\\', '\\'}, {0, 0x1F}}, true),
           Expr::seq(
               {lit("\\"),
                Expr::alt({Expr::cls({{'"', '"'},
                                      {'\\', '\\'},
                                      {'/', '/'},
                                      {'b', 'b'},
                                      {'f', 'f'},
                                      {'n', 'n'},
                                      {'r', 'r'},
                                      {'t', 't'}}),
                           Expr::seq({lit("u"),
                                      Expr::repeat(Expr::cls({{'0', '9'}, {'a', 'f'}, {'A', 'F'}}),
                                                   4, 4)})})})}));
  b.define(kString, Expr::seq({lit("\""), Expr::star(rule_ref(kChar)), lit("\"")}));
  const Expr int_part =
      Expr::alt({lit("0"), Expr::seq({Expr::cls({{'1', '9'}}), digits(0, kMaxDigits - 1)})});
  b.define(kInteger, Expr::seq({Expr::optional(lit("-")), int_part}));
  b.define(kNumber,
           Expr::seq({Expr::optional(lit("-")), int_part,
                      Expr::optional(Expr::seq({lit("."), digits(1, kMaxDigits)})),
                      Expr::optional(Expr::seq({Expr::cls({{'e', 'e'}, {'E', 'E'}}),
                                                Expr::optional(Expr::cls({{'-', '-'}, {'+', '+'}})),
                                                digits(1, 3)}))}));
  const Expr member = Expr::seq({rule_ref(kString), ws(), lit(":"), ws(), rule_ref(kValue), ws()});
  b.define(kObject, Expr::seq({lit("{"), ws(),
                               Expr::optional(Expr::seq(
                                   {member, Expr::star(Expr::seq({lit(","), ws(), member}))})),
                               lit("}")}));
  const Expr element = Expr::seq({rule_ref(kValue), ws()});
  b.define(kArray, Expr::seq({lit("["), ws(),
                              Expr::optional(Expr::seq(
                                  {element, Expr::star(Expr::seq({lit(","), ws(), element}))})),
                              lit("]")}));
  b.define(kValue, Expr::alt({rule_ref(kObject), rule_ref(kArray), rule_ref(kString),
                              rule_ref(kNumber), lit("true"), lit("false"), lit("null")}));
}

const std::set<std::string>& annotation_keywords() {
  static const std::set<std::string> k = {
      "$schema",     "$id",      "$comment",         "$anchor",       "title",     "description",
      "default",     "examples", "deprecated",       "readOnly",      "writeOnly", "$defs",
      "definitions", "strict",   "contentMediaType", "discriminator", "example",   "name"};
  return k;
}

const std::set<std::string>& unsupported_keywords() {
  static const std::set<std::string> k = {"not",
                                          "if",
                                          "then",
                                          "else",
                                          "patternProperties",
                                          "propertyNames",
                                          "dependentRequired",
                                          "dependentSchemas",
                                          "dependencies",
                                          "minProperties",
                                          "maxProperties",
                                          "contains",
                                          "minContains",
                                          "maxContains",
                                          "multipleOf",
                                          "unevaluatedProperties",
                                          "unevaluatedItems",
                                          "$dynamicRef",
                                          "$recursiveRef",
                                          "contentEncoding",
                                          "additionalItems"};
  return k;
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

class SchemaCompiler {
 public:
  SchemaCompiler(const Json& root, const JsonSchemaOptions& opt, GrammarBuilder& b)
      : root_(root), opt_(opt), b_(b) {}

  Result<Expr> visit(const Json& s, const std::string& at) {
    if (s.is_boolean()) {
      if (s.get<bool>()) return rule_ref(kValue);
      return unsupported("json_schema: " + at + ": the schema 'false' matches nothing");
    }
    if (!s.is_object()) {
      return invalid_argument("json_schema: " + at + ": a schema must be an object or a boolean");
    }
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (unsupported_keywords().count(it.key())) {
        return unsupported("json_schema: " + at + ": keyword '" + it.key() +
                           "' is not supported in constrained decoding");
      }
    }
    if (s.contains("uniqueItems") && s["uniqueItems"] == true) {
      return unsupported("json_schema: " + at +
                         ": keyword 'uniqueItems: true' is not supported in constrained decoding");
    }
    if (s.contains("$ref")) return visit_ref(s, at);
    if (s.contains("nullable") && s["nullable"] == true) {
      Json copy = s;
      copy.erase("nullable");
      Result<Expr> inner = visit(copy, at);
      if (!inner.is_ok()) return inner;
      return Expr::alt({std::move(inner).value(), lit("null")});
    }
    if (s.contains("const")) return lit(s["const"].dump());
    if (s.contains("enum")) {
      const Json& e = s["enum"];
      if (!e.is_array() || e.empty()) {
        return invalid_argument("json_schema: " + at + ".enum: expected a non-empty array");
      }
      std::vector<Expr> alts;
      for (const Json& v : e) alts.push_back(lit(v.dump()));
      return Expr::alt(std::move(alts));
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      const Json& list = s[key];
      if (!list.is_array() || list.empty()) {
        return invalid_argument("json_schema: " + at + "." + key + ": expected a non-empty array");
      }
      std::vector<Expr> alts;
      for (size_t i = 0; i < list.size(); ++i) {
        Json branch = list[i];
        // Sibling keywords apply to every branch (e.g. a shared "type").
        if (branch.is_object()) {
          for (auto it = s.begin(); it != s.end(); ++it) {
            if (it.key() != key && !branch.contains(it.key()) &&
                !annotation_keywords().count(it.key()))
              branch[it.key()] = it.value();
          }
        }
        Result<Expr> e = visit(branch, at + "." + key + "[" + std::to_string(i) + "]");
        if (!e.is_ok()) return e;
        alts.push_back(std::move(e).value());
      }
      return Expr::alt(std::move(alts));
    }
    if (s.contains("allOf")) {
      const Json& list = s["allOf"];
      if (!list.is_array() || list.size() != 1) {
        return unsupported("json_schema: " + at +
                           ".allOf: only a single schema is supported in constrained decoding");
      }
      return visit(list[0], at + ".allOf[0]");
    }
    if (s.contains("type")) {
      const Json& t = s["type"];
      if (t.is_array()) {
        if (t.empty()) return invalid_argument("json_schema: " + at + ".type: empty list");
        std::vector<Expr> alts;
        for (const Json& one : t) {
          if (!one.is_string()) {
            return invalid_argument("json_schema: " + at + ".type: expected strings");
          }
          Result<Expr> e = visit_typed(s, one.get<std::string>(), at);
          if (!e.is_ok()) return e;
          alts.push_back(std::move(e).value());
        }
        return Expr::alt(std::move(alts));
      }
      if (!t.is_string()) {
        return invalid_argument("json_schema: " + at + ".type: expected a string or a list");
      }
      return visit_typed(s, t.get<std::string>(), at);
    }
    if (s.contains("properties") || s.contains("additionalProperties") || s.contains("required")) {
      return visit_typed(s, "object", at);
    }
    if (s.contains("items") || s.contains("prefixItems") || s.contains("minItems") ||
        s.contains("maxItems")) {
      return visit_typed(s, "array", at);
    }
    if (s.contains("pattern") || s.contains("format") || s.contains("minLength") ||
        s.contains("maxLength")) {
      return visit_typed(s, "string", at);
    }
    if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") ||
        s.contains("exclusiveMaximum")) {
      return visit_typed(s, "number", at);
    }
    return rule_ref(kValue);
  }

 private:
  Result<Expr> visit_ref(const Json& s, const std::string& at) {
    if (!s["$ref"].is_string())
      return invalid_argument("json_schema: " + at + ".$ref: expected a string");
    const std::string target = s["$ref"].get<std::string>();
    if (target.empty() || target[0] != '#') {
      return unsupported("json_schema: " + at + ".$ref '" + target +
                         "': only references inside the document ('#...') are supported");
    }
    const std::string name = "ref" + sanitize(target.substr(1));
    if (b_.has_rule(name) || in_progress_.count(name)) return rule_ref(name);
    const Json* node = &root_;
    std::string pointer = target.substr(1);
    size_t pos = 0;
    while (pos < pointer.size()) {
      if (pointer[pos] != '/')
        return invalid_argument("json_schema: " + at + ".$ref '" + target + "': malformed pointer");
      const size_t next = pointer.find('/', pos + 1);
      std::string token =
          pointer.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
      for (size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
        if (i + 1 < token.size() && token[i + 1] == '1')
          token.replace(i, 2, "/");
        else if (i + 1 < token.size() && token[i + 1] == '0')
          token.replace(i, 2, "~");
      }
      if (node->is_object() && node->contains(token)) {
        node = &(*node)[token];
      } else if (node->is_array() && !token.empty() &&
                 token.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoul(token) < node->size()) {
        node = &(*node)[std::stoul(token)];
      } else {
        return invalid_argument("json_schema: " + at + ".$ref '" + target + "' points nowhere");
      }
      pos = next == std::string::npos ? pointer.size() : next;
    }
    in_progress_.insert(name);
    Result<Expr> body = visit(*node, target);
    in_progress_.erase(name);
    if (!body.is_ok()) return body;
    b_.define(name, std::move(body).value());
    return rule_ref(name);
  }

  static std::optional<double> number_field(const Json& s, const char* key) {
    if (!s.contains(key) || !s[key].is_number()) return std::nullopt;
    return s[key].get<double>();
  }

  Result<Expr> visit_typed(const Json& s, const std::string& type, const std::string& at) {
    if (type == "object") return visit_object(s, at);
    if (type == "array") return visit_array(s, at);
    if (type == "string") return visit_string(s, at);
    if (type == "integer" || type == "number") return visit_number(s, type == "integer", at);
    if (type == "boolean") return Expr::alt({lit("true"), lit("false")});
    if (type == "null") return lit("null");
    return invalid_argument("json_schema: " + at + ".type: unknown type '" + type + "'");
  }

  Result<Expr> visit_object(const Json& s, const std::string& at) {
    struct Prop {
      std::string name;
      bool required;
      Expr value;
    };
    std::vector<Prop> props;
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array())
        return invalid_argument("json_schema: " + at + ".required: expected an array");
      for (const Json& r : s["required"]) {
        if (!r.is_string())
          return invalid_argument("json_schema: " + at + ".required: expected strings");
        required.insert(r.get<std::string>());
      }
    }
    if (s.contains("properties")) {
      const Json& p = s["properties"];
      if (!p.is_object())
        return invalid_argument("json_schema: " + at + ".properties: expected an object");
      for (auto it = p.begin(); it != p.end(); ++it) {
        Result<Expr> v = visit(it.value(), at + ".properties." + it.key());
        if (!v.is_ok()) return v;
        props.push_back({it.key(), required.count(it.key()) != 0, std::move(v).value()});
      }
    }
    for (const std::string& r : required) {
      bool found = false;
      for (const Prop& p : props) found = found || p.name == r;
      if (!found && (!s.contains("additionalProperties") || s["additionalProperties"] == false)) {
        if (!s.contains("additionalProperties") && !opt_.strict_additional_properties) continue;
        return invalid_argument("json_schema: " + at + ": required property '" + r +
                                "' is not in properties and no additional properties are allowed");
      }
    }
    std::optional<Expr> additional;
    if (s.contains("additionalProperties")) {
      const Json& a = s["additionalProperties"];
      if (!(a.is_boolean() && !a.get<bool>())) {
        Result<Expr> v = visit(a, at + ".additionalProperties");
        if (!v.is_ok()) return v;
        additional = std::move(v).value();
      }
    } else if (!opt_.strict_additional_properties) {
      additional = rule_ref(kValue);
    }
    const std::string base = b_.fresh_name("obj");
    const auto kv = [&](const Prop& p) {
      return Expr::seq({lit(Json(p.name).dump()), ws(), lit(":"), ws(), p.value, ws()});
    };
    std::optional<Expr> extra_kv;
    if (additional) {
      extra_kv = Expr::seq({rule_ref(kString), ws(), lit(":"), ws(), *additional, ws()});
    }
    // first_i: properties i.. when none was written yet; rest_i: after at least one.
    const size_t n = props.size();
    const auto first_name = [&](size_t i) { return base + "_first" + std::to_string(i); };
    const auto rest_name = [&](size_t i) { return base + "_rest" + std::to_string(i); };
    if (extra_kv) {
      b_.define(first_name(n),
                Expr::optional(
                    Expr::seq({*extra_kv, Expr::star(Expr::seq({lit(","), ws(), *extra_kv}))})));
      b_.define(rest_name(n), Expr::star(Expr::seq({lit(","), ws(), *extra_kv})));
    } else {
      b_.define(first_name(n), Expr::empty());
      b_.define(rest_name(n), Expr::empty());
    }
    for (size_t i = n; i-- > 0;) {
      const Expr with = Expr::seq({kv(props[i]), rule_ref(rest_name(i + 1))});
      const Expr comma_with = Expr::seq({lit(","), ws(), kv(props[i]), rule_ref(rest_name(i + 1))});
      if (props[i].required) {
        b_.define(first_name(i), with);
        b_.define(rest_name(i), comma_with);
      } else {
        b_.define(first_name(i), Expr::alt({with, rule_ref(first_name(i + 1))}));
        b_.define(rest_name(i), Expr::alt({comma_with, rule_ref(rest_name(i + 1))}));
      }
    }
    return Expr::seq({lit("{"), ws(), rule_ref(first_name(0)), lit("}")});
  }

  Result<int> count_field(const Json& s, const char* key, int fallback, const std::string& at) {
    if (!s.contains(key)) return fallback;
    const Json& v = s[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      return invalid_argument("json_schema: " + at + "." + key +
                              ": expected a non-negative integer");
    }
    if (v.get<int64_t>() > GrammarBuilder::kMaxRepeat) {
      return unsupported("json_schema: " + at + "." + key + ": values above " +
                         std::to_string(GrammarBuilder::kMaxRepeat) + " are not supported");
    }
    return static_cast<int>(v.get<int64_t>());
  }

  Result<Expr> visit_array(const Json& s, const std::string& at) {
    XY_ASSIGN_OR_RETURN(const int min, count_field(s, "minItems", 0, at));
    XY_ASSIGN_OR_RETURN(const int max, count_field(s, "maxItems", -1, at));
    if (max >= 0 && max < min)
      return invalid_argument("json_schema: " + at + ": maxItems < minItems");
    std::optional<Expr> item = rule_ref(kValue);
    if (s.contains("items")) {
      if (s["items"].is_boolean() && !s["items"].get<bool>()) {
        item.reset();
      } else {
        Result<Expr> v = visit(s["items"], at + ".items");
        if (!v.is_ok()) return v;
        item = std::move(v).value();
      }
    }
    std::vector<Expr> prefix;
    if (s.contains("prefixItems")) {
      const Json& p = s["prefixItems"];
      if (!p.is_array())
        return invalid_argument("json_schema: " + at + ".prefixItems: expected an array");
      for (size_t i = 0; i < p.size(); ++i) {
        Result<Expr> v = visit(p[i], at + ".prefixItems[" + std::to_string(i) + "]");
        if (!v.is_ok()) return v;
        prefix.push_back(std::move(v).value());
      }
    }
    const int k = static_cast<int>(prefix.size());
    // Elements after the prefix: (',' item){extra_min, extra_max}.
    Expr tail = Expr::empty();
    if (item && (max < 0 || max > k)) {
      const int extra_min = std::max(0, min - k);
      const int extra_max = max < 0 ? -1 : max - k;
      const Expr one = Expr::seq({lit(","), ws(), *item, ws()});
      if (k == 0) {
        // No prefix: the first element has no comma.
        if (max == 0) return Expr::seq({lit("["), ws(), lit("]")});
        const Expr first = Expr::seq({*item, ws()});
        const Expr rest = Expr::repeat(one, std::max(0, min - 1), max < 0 ? -1 : max - 1);
        Expr body = Expr::seq({first, rest});
        if (min == 0) body = Expr::optional(std::move(body));
        return Expr::seq({lit("["), ws(), std::move(body), lit("]")});
      }
      tail = Expr::repeat(one, extra_min, extra_max);
    } else if (min > k) {
      return invalid_argument("json_schema: " + at + ": minItems exceeds the items allowed");
    }
    if (k == 0) return Expr::seq({lit("["), ws(), lit("]")});
    // Prefix elements j = k-1 .. 0, each optional once minItems is met.
    const int required_prefix = std::min(min, k);
    Expr after = tail;
    for (int j = k - 1; j >= 1; --j) {
      Expr step = Expr::seq({lit(","), ws(), prefix[static_cast<size_t>(j)], ws(), after});
      after = j < required_prefix ? std::move(step) : Expr::optional(std::move(step));
    }
    Expr body = Expr::seq({prefix[0], ws(), after});
    if (required_prefix == 0) body = Expr::optional(std::move(body));
    return Expr::seq({lit("["), ws(), std::move(body), lit("]")});
  }

  Result<Expr> visit_string(const Json& s, const std::string& at) {
    const bool has_len = s.contains("minLength") || s.contains("maxLength");
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string())
        return invalid_argument("json_schema: " + at + ".pattern: expected a string");
      if (has_len || s.contains("format")) {
        return unsupported("json_schema: " + at +
                           ": 'pattern' combined with minLength/maxLength/format is not supported");
      }
      Result<RegexExpr> re = regex_to_expr(s["pattern"].get<std::string>());
      if (!re.is_ok())
        return Status(re.status().code(),
                      "json_schema: " + at + ".pattern: " + re.status().message());
      std::vector<Expr> parts{lit("\"")};
      if (!re->anchored_start) parts.push_back(Expr::star(rule_ref(kChar)));
      parts.push_back(json_string_content(re->expr));
      if (!re->anchored_end) parts.push_back(Expr::star(rule_ref(kChar)));
      parts.push_back(lit("\""));
      return Expr::seq(std::move(parts));
    }
    if (s.contains("format")) {
      if (has_len) {
        return unsupported("json_schema: " + at +
                           ": 'format' combined with minLength/maxLength is not supported");
      }
      if (!s["format"].is_string())
        return invalid_argument("json_schema: " + at + ".format: expected a string");
      Result<Expr> f = string_format(s["format"].get<std::string>(), at);
      if (!f.is_ok()) return f;
      return Expr::seq({lit("\""), std::move(f).value(), lit("\"")});
    }
    if (has_len) {
      XY_ASSIGN_OR_RETURN(const int min, count_field(s, "minLength", 0, at));
      XY_ASSIGN_OR_RETURN(const int max, count_field(s, "maxLength", -1, at));
      if (max >= 0 && max < min)
        return invalid_argument("json_schema: " + at + ": maxLength < minLength");
      return Expr::seq({lit("\""), Expr::repeat(rule_ref(kChar), min, max), lit("\"")});
    }
    return rule_ref(kString);
  }

  Result<Expr> string_format(const std::string& format, const std::string& at) {
    const auto re = [&](const char* pattern) -> Result<Expr> {
      Result<RegexExpr> r = regex_to_expr(pattern);
      if (!r.is_ok()) return r.status();
      return json_string_content(r->expr);
    };
    constexpr const char* kDate = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])";
    constexpr const char* kTime =
        "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-"
        "9])";
    if (format == "date") return re(kDate);
    if (format == "time") return re(kTime);
    if (format == "date-time") return re((std::string(kDate) + "T" + kTime).c_str());
    if (format == "uuid")
      return re("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    if (format == "email")
      return re(
          "[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63}){0,4}\\.[A-Za-z]{2,24}");
    if (format == "ipv4")
      return re(
          "((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|["
          "1-9]?[0-9])");
    if (format == "hostname")
      return re(
          "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9]"
          ")?){0,8}");
    return unsupported(
        "json_schema: " + at + ".format '" + format +
        "' is not supported (supported: date-time, date, time, uuid, email, ipv4, hostname)");
  }

  Result<Expr> visit_number(const Json& s, bool integer, const std::string& at) {
    std::optional<double> lo = number_field(s, "minimum"), hi = number_field(s, "maximum");
    const std::optional<double> xlo = number_field(s, "exclusiveMinimum");
    const std::optional<double> xhi = number_field(s, "exclusiveMaximum");
    for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
      if (s.contains(key) && !s[key].is_number()) {
        return invalid_argument("json_schema: " + at + "." + key + ": expected a number");
      }
    }
    if (!lo && !hi && !xlo && !xhi) return rule_ref(integer ? kInteger : kNumber);
    if (integer) {
      std::optional<int64_t> a, b;
      if (lo) a = static_cast<int64_t>(std::ceil(*lo));
      if (xlo) a = std::max(a.value_or(INT64_MIN), static_cast<int64_t>(std::floor(*xlo)) + 1);
      if (hi) b = static_cast<int64_t>(std::floor(*hi));
      if (xhi) b = std::min(b.value_or(INT64_MAX), static_cast<int64_t>(std::ceil(*xhi)) - 1);
      if (a && b && *a > *b)
        return invalid_argument("json_schema: " + at + ": no integer lies within the bounds");
      return integer_range(a, b, kMaxDigits);
    }
    const auto is_int = [](double v) { return std::floor(v) == v && std::fabs(v) < 1e15; };
    if (xlo || xhi || (lo && (!is_int(*lo) || *lo < 0)) || (hi && (!is_int(*hi) || *hi < 0)) ||
        !lo) {
      return unsupported("json_schema: " + at +
                         ": number bounds are supported only as an inclusive non-negative integer "
                         "minimum (and maximum); use type 'integer' or drop the bounds");
    }
    std::optional<int64_t> b;
    if (hi) b = static_cast<int64_t>(*hi);
    return bounded_decimal(static_cast<int64_t>(*lo), b, kMaxDigits);
  }

  const Json& root_;
  const JsonSchemaOptions& opt_;
  GrammarBuilder& b_;
  std::set<std::string> in_progress_;
};

}  // namespace

Status json_schema_rules(const nlohmann::ordered_json& schema, const JsonSchemaOptions& options,
                         GrammarBuilder& builder, const std::string& root_name) {
  define_common(builder, options);
  SchemaCompiler c(schema, options, builder);
  Result<Expr> root = c.visit(schema, "schema");
  if (!root.is_ok()) return root.status();
  builder.define(root_name, std::move(root).value());
  return Status::ok();
}

void json_object_rules(GrammarBuilder& builder, const std::string& root_name,
                       const JsonSchemaOptions& options) {
  define_common(builder, options);
  builder.define(root_name, rule_ref(kObject));
}

}  // namespace xy::grammar
