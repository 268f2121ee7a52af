// JSON Schema grammars against an independent reference: random schemas, random instances
// (valid ones generated from the schema, then mutated), serialized compactly or indented; the
// grammar must accept exactly the instances that nlohmann parses, this file's small validator
// accepts, and whose object keys follow the schema's property order (the documented layout).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "grammar/numeric_ranges.h"
#include "grammar_test_util.h"

namespace xy::grammar {
namespace {

using Json = nlohmann::ordered_json;
using testing::compile_bytes;
using testing::matches;

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The reference: JSON Schema validation of the keywords the generator uses, plus key order.
bool valid(const Json& v, const Json& s, const Json& root) {
  if (s.contains("$ref"))
    return valid(v, root["$defs"][s["$ref"].get<std::string>().substr(8)], root);
  if (s.contains("anyOf")) {
    for (const Json& b : s["anyOf"]) {
      if (valid(v, b, root)) return true;
    }
    return false;
  }
  if (s.contains("enum")) {
    for (const Json& e : s["enum"]) {
      if (e == v) return true;
    }
    return false;
  }
  if (s.contains("const")) return s["const"] == v;
  const std::string type = s.value("type", "");
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_boolean();
  if (type == "integer") {
    if (!v.is_number_integer()) return false;
    const int64_t x = v.get<int64_t>();
    if (s.contains("minimum") && x < s["minimum"].get<int64_t>()) return false;
    if (s.contains("maximum") && x > s["maximum"].get<int64_t>()) return false;
    return true;
  }
  if (type == "number") return v.is_number();
  if (type == "string") {
    if (!v.is_string()) return false;
    const size_t n = code_points(v.get<std::string>());
    if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return false;
    if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return false;
    return true;
  }
  if (type == "array") {
    if (!v.is_array()) return false;
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return false;
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return false;
    for (const Json& x : v) {
      if (!valid(x, s["items"], root)) return false;
    }
    return true;
  }
  if (type == "object") {
    if (!v.is_object()) return false;
    const Json& props = s["properties"];
    std::vector<std::string> order;
    for (auto it = props.begin(); it != props.end(); ++it) order.push_back(it.key());
    size_t next = 0;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!props.contains(it.key())) return false;  // additionalProperties: false
      while (next < order.size() && order[next] != it.key()) ++next;
      if (next == order.size()) return false;  // out of schema order (or repeated)
      ++next;
      if (!valid(it.value(), props[it.key()], root)) return false;
    }
    for (const Json& r : s["required"]) {
      if (!v.contains(r.get<std::string>())) return false;
    }
    return true;
  }
  return false;
}

// One-line JSON with a space after every ':' and ',' (Python's json.dumps default).
std::string spaced(const Json& v) {
  if (v.is_object()) {
    std::string s = "{";
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it != v.begin()) s += ", ";
      s += Json(it.key()).dump();
      s += ": ";
      s += spaced(it.value());
    }
    return s + "}";
  }
  if (v.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i > 0) s += ", ";
      s += spaced(v[i]);
    }
    return s + "]";
  }
  return v.dump();
}

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

  Json schema(int depth) {
    const int kind = pick(depth <= 0 ? 5 : 9);
    switch (kind) {
      case 0:
        return {{"type", "null"}};
      case 1:
        return {{"type", "boolean"}};
      case 2: {
        Json s = {{"type", "integer"}};
        if (pick(2)) s["minimum"] = pick(200) - 100;
        if (pick(2)) s["maximum"] = s.value("minimum", -100) + pick(300);
        return s;
      }
      case 3: {
        Json s = {{"type", "string"}};
        if (pick(2)) s["maxLength"] = 1 + pick(4);
        if (pick(3) == 0) s["minLength"] = pick(2);
        return s;
      }
      case 4:
        return pick(2) ? Json{{"enum", {"red", 7, nullptr, "a\"b"}}} : Json{{"type", "number"}};
      case 5:
      case 6: {
        Json s = {{"type", "object"}, {"properties", Json::object()}, {"required", Json::array()}};
        const int n = 1 + pick(3);
        for (int i = 0; i < n; ++i) {
          const std::string key = std::string("k") + static_cast<char>('a' + i);
          s["properties"][key] = schema(depth - 1);
          if (pick(2)) s["required"].push_back(key);
        }
        s["additionalProperties"] = false;
        return s;
      }
      case 7: {
        Json s = {{"type", "array"}, {"items", schema(depth - 1)}};
        if (pick(2)) s["minItems"] = pick(2);
        if (pick(2)) s["maxItems"] = s.value("minItems", 0) + pick(3);
        return s;
      }
      default:
        return {{"anyOf", {schema(depth - 1), schema(depth - 1)}}};
    }
  }

  std::string random_text(int max_len) {
    static const std::vector<std::string> pieces = {"a", "Z",  " ",  "\"", "\\",
                                                    "é", "日", "\n", "\t", "/"};
    std::string s;
    const int n = pick(max_len + 1);
    for (int i = 0; i < n; ++i)
      s += pieces[static_cast<size_t>(pick(static_cast<int>(pieces.size())))];
    return s;
  }

  // A value shaped by the schema (usually valid), sometimes mutated.
  Json instance(const Json& s, int depth) {
    if (pick(12) == 0) return mutant();
    if (s.contains("anyOf")) return instance(s["anyOf"][static_cast<size_t>(pick(2))], depth);
    if (s.contains("enum")) return s["enum"][static_cast<size_t>(pick(4))];
    const std::string type = s.value("type", "");
    if (type == "null") return nullptr;
    if (type == "boolean") return pick(2) == 1;
    if (type == "integer") return s.value("minimum", -50) + pick(120);
    if (type == "number") return (pick(2000) - 1000) / 8.0;
    if (type == "string") return random_text(s.value("maxLength", 5) + (pick(4) == 0));
    if (type == "array") {
      Json a = Json::array();
      const int n = pick(4);
      for (int i = 0; i < n; ++i) a.push_back(instance(s["items"], depth + 1));
      return a;
    }
    Json o = Json::object();
    for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
      if (pick(4) != 0) o[it.key()] = instance(it.value(), depth + 1);
    }
    if (pick(10) == 0) o["extra"] = 1;
    if (pick(10) == 0 && o.size() >= 2) {  // reversed key order
      Json r = Json::object();
      std::vector<std::string> keys;
      for (auto it = o.begin(); it != o.end(); ++it) keys.push_back(it.key());
      for (size_t i = keys.size(); i-- > 0;) r[keys[i]] = o[keys[i]];
      return r;
    }
    return o;
  }
  Json mutant() {
    switch (pick(5)) {
      case 0:
        return "str";
      case 1:
        return 3;
      case 2:
        return Json::array({1});
      case 3:
        return Json::object({{"x", 1}});
      default:
        return 2.5;
    }
  }

 private:
  std::mt19937 rng_;
};

TEST(JsonSchemaGrammar, AgreesWithReferenceValidatorOnRandomSchemas) {
  Gen gen(11);
  int accepted = 0, total = 0;
  for (int i = 0; i < 150; ++i) {
    const Json schema = gen.schema(3);
    const auto g = compile_bytes(GrammarSpec::json_schema(schema.dump()));
    JsonSchemaOptions indented;
    indented.indentation = true;
    auto gi = build_grammar(GrammarSpec::json_schema(schema.dump()), indented);
    ASSERT_TRUE(g && gi.is_ok()) << schema.dump();
    const auto pretty =
        std::make_shared<const CompiledGrammar>(*gi, testing::byte_vocabulary(), "json");
    for (int j = 0; j < 30; ++j) {
      const Json v = gen.instance(schema, 0);
      const int layout = gen.pick(3);
      const std::string text = layout == 0 ? v.dump() : layout == 1 ? spaced(v) : v.dump(2);
      const bool expected = valid(v, schema, schema);
      const bool multi_line = text.find('\n') != std::string::npos;
      ASSERT_EQ(matches(pretty, text), expected) << "schema " << schema.dump() << "\n" << text;
      ASSERT_EQ(matches(g, text), expected && !multi_line) << "schema " << schema.dump() << "\n"
                                                           << text;
      accepted += expected;
      ++total;
    }
  }
  EXPECT_GT(accepted, total / 5);
  EXPECT_LT(accepted, total - total / 10);
}

TEST(JsonSchemaGrammar, RefsDefsAndRecursion) {
  const Json schema = Json::parse(R"({
    "$defs": {"node": {"type": "object", "properties": {
        "v": {"type": "integer"},
        "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
      "required": ["v"], "additionalProperties": false}},
    "$ref": "#/$defs/node"})");
  const auto g = compile_bytes(GrammarSpec::json_schema(schema.dump()));
  ASSERT_TRUE(g);
  EXPECT_TRUE(matches(g, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4,"kids":[]}]}]})"));
  EXPECT_FALSE(matches(g, R"({"v":1,"kids":[{"w":2}]})"));
  EXPECT_FALSE(matches(g, R"({"kids":[]})"));
}

TEST(JsonSchemaGrammar, PatternsFormatsAndPrefixItems) {
  const auto g = compile_bytes(GrammarSpec::json_schema(R"({"type":"object","properties":{
      "id": {"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"},
      "quote": {"type":"string","pattern":"^a\"b\\\\c$"},
      "day": {"type":"string","format":"date"},
      "uid": {"type":"string","format":"uuid"},
      "pair": {"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false},
      "p": {"type":"number","minimum":0,"maximum":1}},
    "required":["id","quote","day","uid","pair","p"]})"));
  ASSERT_TRUE(g);
  const std::string ok =
      R"({"id":"AB-123","quote":"a\"b\\c","day":"2024-02-29","uid":"123e4567-e89b-12d3-a456-426614174000","pair":["x",3],"p":0.25})";
  EXPECT_TRUE(matches(g, ok));
  std::string bad = ok;
  bad.replace(bad.find("AB-123"), 6, "AB-12");
  EXPECT_FALSE(matches(g, bad));
  bad = ok;
  bad.replace(bad.find("0.25"), 4, "1.5");
  EXPECT_FALSE(matches(g, bad));
  bad = ok;
  bad.replace(bad.find("0.25"), 4, "1.00");
  EXPECT_TRUE(matches(g, bad));
  bad = ok;
  bad.replace(bad.find("[\"x\",3]"), 7, "[\"x\",3,4]");
  EXPECT_FALSE(matches(g, bad));
}

TEST(JsonSchemaGrammar, UnanchoredPatternSearches) {
  const auto g = compile_bytes(GrammarSpec::json_schema(R"({"type":"string","pattern":"ab+"})"));
  ASSERT_TRUE(g);
  EXPECT_TRUE(matches(g, R"("xxabbby")"));
  EXPECT_FALSE(matches(g, R"("xxa")"));
}

TEST(JsonSchemaGrammar, JsonObjectAcceptsAnyObject) {
  const auto g = compile_bytes(GrammarSpec::json_object());
  ASSERT_TRUE(g);
  EXPECT_TRUE(matches(g, R"({"a": [1, 2.5e-3, {"b": null}], "c": "\u00e9\n"})"));
  EXPECT_FALSE(matches(g, "{\n  \"a\": 1\n}"));  // one-line layout by default
  EXPECT_FALSE(matches(g, R"({"a":  1})"));
  EXPECT_TRUE(matches(g, "{}"));
  EXPECT_FALSE(matches(g, "[]"));
  EXPECT_FALSE(matches(g, R"({"a": 01})"));
  EXPECT_FALSE(matches(g, R"({"a": "x)"));
}

TEST(JsonSchemaGrammar, UnsupportedAndInvalidSchemasAreErrors) {
  const auto status = [](const char* schema) {
    return build_grammar(GrammarSpec::json_schema(schema)).status();
  };
  EXPECT_EQ(status(R"({"type":"string","not":{"const":"x"}})").code(), ErrorCode::kUnsupported);
  EXPECT_NE(status(R"({"type":"string","not":{"const":"x"}})").message().find("'not'"),
            std::string::npos);
  EXPECT_EQ(status(R"({"type":"array","uniqueItems":true})").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(status(R"({"type":"number","multipleOf":2})").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(status(R"({"type":"number","minimum":0.5})").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(status(R"({"type":"string","format":"color"})").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(status(R"({"$ref":"https://example.com/s.json"})").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(status(R"({"$ref":"#/$defs/missing"})").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(status(R"({"type":"strange"})").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(status(R"({"type":"array","minItems":3,"maxItems":1})").code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(status("{not json").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(status(R"({"type":"string","pattern":"(a"})").code(), ErrorCode::kInvalidArgument);
}

// Integer ranges against brute force over every value in a window.
TEST(NumericRanges, IntegerRangesMatchExactlyTheBoundedValues) {
  std::mt19937 rng(5);
  for (int i = 0; i < 120; ++i) {
    std::optional<int64_t> lo, hi;
    if (rng() % 4) lo = static_cast<int64_t>(rng() % 2400) - 1200;
    if (rng() % 4) hi = lo.value_or(-1200) + static_cast<int64_t>(rng() % 1500);
    GrammarBuilder b;
    b.define("root", integer_range(lo, hi, 6));
    auto g = b.build("root");
    ASSERT_TRUE(g.is_ok());
    auto cg = std::make_shared<const CompiledGrammar>(*g, testing::byte_vocabulary(), "range");
    for (int64_t v = -1500; v <= 1500; v += 1 + static_cast<int64_t>(rng() % 3)) {
      const bool expected = (!lo || v >= *lo) && (!hi || v <= *hi);
      ASSERT_EQ(matches(cg, std::to_string(v)), expected)
          << "[" << (lo ? std::to_string(*lo) : "-inf") << ", "
          << (hi ? std::to_string(*hi) : "inf") << "] value " << v;
    }
    EXPECT_FALSE(matches(cg, "-0"));
    EXPECT_FALSE(matches(cg, "007"));
  }
}

}  // namespace
}  // namespace xy::grammar
