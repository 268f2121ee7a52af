#include "tokenizer/jinja/filters.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/json_dump.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/methods.h"
#include "tokenizer/jinja/string_ops.h"
#include "tokenizer/jinja/value_tests.h"

namespace xy::jinja {
namespace {

constexpr std::array<std::string_view, 34> kFilters = {
    "safe",    "tojson",     "list",    "first",    "last",   "length",     "count",
    "reverse", "sort",       "join",    "string",   "unique", "upper",      "lower",
    "title",   "capitalize", "trim",    "indent",   "int",    "float",      "abs",
    "items",   "bool",       "default", "d",        "map",    "selectattr", "rejectattr",
    "select",  "reject",     "replace", "dictsort", "keys",   "values",
};

[[noreturn]] void cannot_apply(std::string_view name, const Value& v) {
  throw_runtime("cannot apply filter '" + std::string(name) + "' to a " + v.type_name());
}

const Value* arg(const CallArgs& a, size_t i, const char* kw) {
  if (i < a.positional.size()) return &a.positional[i];
  return kw ? a.kwarg(kw) : nullptr;
}

bool bool_arg(const CallArgs& a, size_t i, const char* kw, bool fallback) {
  const Value* v = arg(a, i, kw);
  if (!v) return fallback;
  if (!v->is_bool()) throw_runtime(std::string(kw) + " must be a boolean");
  return v->as_bool();
}

// Attribute path "a.b.0" into dicts and lists; undefined where it does not resolve.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v.is_dict()) {
      const Value* f = v.as_dict().find(part);
      v = f ? *f : Value();
    } else if (v.is_list()) {
      const auto idx = js_parse_int(part);
      if (!idx || *idx < 0 || *idx >= static_cast<double>(v.as_list().size())) return Value();
      v = v.as_list()[static_cast<size_t>(*idx)];
    } else {
      return Value();
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return v;
}

std::string join_values(Interpreter& in, const List& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    // JS Array.join: null/undefined become "", floats print without ".0".
    const Value& x = items[i];
    out += x.is_float() ? js_number_to_string(x.as_float()) : x.to_output();
    in.charge_string(0);
  }
  in.charge_string(out.size());
  return out;
}

Value tojson(Interpreter& in, const Value& v, const CallArgs& a) {
  JsonDumpOptions o;
  if (const Value* indent = a.kwarg("indent"); indent && !indent->is_none()) {
    if (!indent->is_int()) throw_runtime("tojson: indent must be an integer");
    o.indent = static_cast<int>(std::clamp<int64_t>(indent->as_int(), 0, 64));
  }
  o.ensure_ascii = bool_arg(a, SIZE_MAX, "ensure_ascii", false);
  o.sort_keys = bool_arg(a, SIZE_MAX, "sort_keys", false);
  if (const Value* sep = a.kwarg("separators"); sep && !sep->is_none()) {
    if (!sep->is_list() || sep->as_list().size() != 2 || !sep->as_list()[0].is_string() ||
        !sep->as_list()[1].is_string()) {
      throw_runtime("tojson: separators must be a pair of strings");
    }
    o.separators = std::make_pair(sep->as_list()[0].as_string(), sep->as_list()[1].as_string());
  }
  return in.make_string(json_dump(v, o));
}

Value select_reject(Interpreter& in, std::string_view name, const Value& operand,
                    const CallArgs& a) {
  if (!operand.is_list()) cannot_apply(name, operand);
  const bool by_attr = name == "selectattr" || name == "rejectattr";
  const bool select = name == "selectattr" || name == "select";
  size_t next = 0;
  std::string attr;
  if (by_attr) {
    if (a.positional.empty() || !a.positional[0].is_string()) {
      throw_runtime(std::string(name) + ": the attribute name must be a string");
    }
    attr = a.positional[0].as_string();
    next = 1;
  }
  std::string test;
  if (next < a.positional.size()) {
    if (!a.positional[next].is_string())
      throw_runtime(std::string(name) + ": the test name must be a string");
    test = a.positional[next].as_string();
    if (!is_known_test(test)) throw_runtime(std::string(name) + ": unknown test '" + test + "'");
  }
  std::vector<Value> test_args(a.positional.begin() + std::min(a.positional.size(), next + 1),
                               a.positional.end());
  List out;
  for (const Value& item : operand.as_list()) {
    in.charge_work(1);
    Value subject = item;
    if (by_attr) {
      if (!item.is_dict())
        throw_runtime(std::string(name) + " can only be applied to a list of dicts");
      const Value* f = item.as_dict().find(attr);
      subject = f ? *f : Value();
    }
    bool result;
    if (by_attr && !subject.truthy() && !test.empty()) {
      result = false;  // @huggingface/jinja skips falsy attributes before testing
    } else {
      result = test.empty() ? subject.truthy() : apply_test(test, subject, test_args);
    }
    if (result == select) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value map_filter(Interpreter& in, const Value& operand, const CallArgs& a) {
  if (!operand.is_list()) cannot_apply("map", operand);
  const Value* attr = a.kwarg("attribute");
  List out;
  if (attr) {
    if (!attr->is_string()) throw_runtime("map: attribute must be a string");
    const Value* fallback = a.kwarg("default");
    for (const Value& item : operand.as_list()) {
      in.charge_work(1);
      if (!item.is_dict()) throw_runtime("map: items must be dicts");
      Value v = attribute_path(item, attr->as_string());
      out.push_back(v.is_undefined() && fallback ? *fallback : v);
    }
    return Value::list(std::move(out));
  }
  if (!a.positional.empty() && a.positional[0].is_string()) {
    // map('filter') applies a filter without arguments to every item.
    const std::string f = a.positional[0].as_string();
    if (!is_known_filter(f) || f == "map") throw_runtime("map: unknown filter '" + f + "'");
    CallArgs none;
    for (const Value& item : operand.as_list()) {
      in.charge_work(1);
      out.push_back(apply_filter(in, f, item, none, false));
    }
    return Value::list(std::move(out));
  }
  throw_runtime("map: needs attribute=... or a filter name");
}

Value sort_filter(Interpreter& in, const Value& operand, const CallArgs& a) {
  const bool reverse = bool_arg(a, 0, "reverse", false);
  const bool case_sensitive = bool_arg(a, 1, "case_sensitive", false);
  const Value* attr = arg(a, 2, "attribute");
  std::string path;
  if (attr && !attr->is_none()) {
    if (attr->is_int())
      path = std::to_string(attr->as_int());
    else if (attr->is_string())
      path = attr->as_string();
    else
      throw_runtime("sort: attribute must be a string or an integer");
  }
  List items = operand.as_list();
  in.charge_work(static_cast<int64_t>(items.size()));
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    const int c = path.empty() ? compare_values(x, y, case_sensitive)
                               : compare_values(attribute_path(x, path), attribute_path(y, path),
                                                case_sensitive);
    return reverse ? c > 0 : c < 0;
  });
  return Value::list(std::move(items));
}

Value indent_filter(Interpreter& in, const std::string& s, const CallArgs& a) {
  const Value* width = arg(a, 0, "width");
  int64_t w = 4;
  if (width) {
    if (!width->is_int()) throw_runtime("indent: width must be an integer");
    w = std::clamp<int64_t>(width->as_int(), 0, 1024);
  }
  const bool first = arg(a, 1, "first") && arg(a, 1, "first")->truthy();
  const bool blank = arg(a, 2, "blank") && arg(a, 2, "blank")->truthy();
  const std::string pad(static_cast<size_t>(w), ' ');
  std::string out;
  size_t start = 0, line = 0;
  while (true) {
    const size_t nl = s.find('\n', start);
    const std::string_view part =
        std::string_view(s).substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!((!first && line == 0) || (!blank && part.empty()))) out += pad;
    out += part;
    in.charge_string(pad.size());
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
    ++line;
  }
  return in.make_string(std::move(out));
}

Value unique(Interpreter& in, const List& items) {
  List out;
  for (const Value& x : items) {
    in.charge_work(static_cast<int64_t>(out.size()) + 1);
    bool seen = false;
    for (const Value& y : out) seen = seen || y.same_scalar(x);
    if (!seen) out.push_back(x);
  }
  return Value::list(std::move(out));
}

Value apply_list_filter(Interpreter& in, std::string_view name, const Value& v, const CallArgs& a,
                        bool with_call) {
  const List& items = v.as_list();
  if (name == "list") return v;
  if (name == "first") return items.empty() ? Value() : items.front();
  if (name == "last") return items.empty() ? Value() : items.back();
  if (name == "length" || name == "count")
    return Value::integer(static_cast<int64_t>(items.size()));
  if (name == "reverse") {
    in.charge_work(static_cast<int64_t>(items.size()));
    return Value::list(List(items.rbegin(), items.rend()));
  }
  if (name == "sort") return sort_filter(in, v, a);
  if (name == "join") {
    const Value* sep = arg(a, 0, "separator");
    if (sep && !sep->is_string()) throw_runtime("join: separator must be a string");
    return Value::string(join_values(in, items, sep ? sep->as_string() : ""));
  }
  if (name == "string") {
    JsonDumpOptions o;
    o.undefined_as_null = false;
    return in.make_string(json_dump(v, o));
  }
  if (name == "unique") return unique(in, items);
  if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
    return select_reject(in, name, v, a);
  }
  if (name == "map") return map_filter(in, v, a);
  (void)with_call;
  cannot_apply(name, v);
}

Value apply_string_filter(Interpreter& in, std::string_view name, const Value& v,
                          const CallArgs& a) {
  const std::string& s = v.as_string();
  if (name == "length" || name == "count") return Value::integer(utf16_length(s));
  if (name == "upper") return in.make_string(to_upper(s));
  if (name == "lower") return in.make_string(to_lower(s));
  if (name == "title") return in.make_string(title_case(s));
  if (name == "capitalize") return in.make_string(capitalize(s));
  if (name == "trim") return in.make_string(js_trim(s, true, true));
  if (name == "indent") return indent_filter(in, s, a);
  if (name == "string") return v;
  if (name == "join") {
    const Value* sep = arg(a, 0, "separator");
    if (sep && !sep->is_string()) throw_runtime("join: separator must be a string");
    List chars;
    for (std::string& c : utf8_chars(s)) chars.push_back(Value::string(std::move(c)));
    in.charge_work(static_cast<int64_t>(chars.size()));
    return Value::string(join_values(in, chars, sep ? sep->as_string() : ""));
  }
  if (name == "int") {
    const auto n = js_parse_int(s);
    if (n) return Value::js_integer(*n);
    const Value* d = arg(a, 0, "default");
    return d ? *d : Value::integer(0);
  }
  if (name == "float") {
    const auto n = js_parse_float(s);
    if (n) return Value::floating(*n);
    const Value* d = arg(a, 0, "default");
    return d ? *d : Value::floating(0.0);
  }
  if (name == "replace") {
    Value m = builtin_member(v, "replace");
    CallArgs copy = a;
    std::shared_ptr<Env> no_env;
    return m.as_callable().fn(in, copy, no_env);
  }
  cannot_apply(name, v);
}

Value apply_number_filter(std::string_view name, const Value& v, bool with_call) {
  if (name == "abs") {
    return v.is_integral() ? Value::js_integer(std::fabs(v.as_number()))
                           : Value::floating(std::fabs(v.as_float()));
  }
  // `x|int()` / `x|float()` with parentheses return numbers unchanged in @huggingface/jinja.
  if (name == "int")
    return with_call || v.is_int() ? v : Value::js_integer(std::floor(v.as_number()));
  if (name == "float") return with_call ? v : Value::floating(v.as_number());
  if (name == "string") return Value::string(v.to_output());
  cannot_apply(name, v);
}

}  // namespace

bool is_known_filter(std::string_view name) {
  return std::find(kFilters.begin(), kFilters.end(), name) != kFilters.end();
}

Value apply_filter(Interpreter& in, std::string_view name, const Value& v, const CallArgs& a,
                   bool with_call) {
  if (name == "safe") return v;
  if (name == "tojson") return tojson(in, v, a);
  if (name == "default" || name == "d") {
    const Value* fallback = arg(a, 0, "default_value");
    const bool boolean = bool_arg(a, 1, "boolean", false);
    if (v.is_undefined() || (boolean && !v.truthy()))
      return fallback ? *fallback : Value::string("");
    return v;
  }
  if (v.is_list()) return apply_list_filter(in, name, v, a, with_call);
  if (v.is_string()) return apply_string_filter(in, name, v, a);
  if (v.is_number()) return apply_number_filter(name, v, with_call);
  if (v.is_dict() && !v.is_namespace()) {
    const Dict& d = v.as_dict();
    if (name == "length" || name == "count")
      return Value::integer(static_cast<int64_t>(d.entries.size()));
    if (name == "items" || name == "keys" || name == "values" || name == "dictsort") {
      in.charge_work(static_cast<int64_t>(d.entries.size()));
      Value m = builtin_member(v, std::string(name));
      CallArgs copy = a;
      std::shared_ptr<Env> no_env;
      return m.as_callable().fn(in, copy, no_env);
    }
    if (name == "string") {
      JsonDumpOptions o;
      o.undefined_as_null = false;
      return in.make_string(json_dump(v, o));
    }
    cannot_apply(name, v);
  }
  if (v.is_bool()) {
    if (name == "bool") return v;
    if (name == "int") return Value::integer(v.as_bool() ? 1 : 0);
    if (name == "float") return Value::floating(v.as_bool() ? 1.0 : 0.0);
    if (name == "string") return Value::string(v.as_bool() ? "true" : "false");
  }
  cannot_apply(name, v);
}

}  // namespace xy::jinja
