// Runtime values of the Jinja subset interpreter. Semantics follow @huggingface/jinja (the
// reference our chat-template goldens come from), which itself mimics Python Jinja2:
// lists and dicts have reference semantics (a namespace mutated inside a loop is seen
// outside it), dicts keep insertion order, `none` and undefined print as "".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace xy::jinja {

class Value;
class Interpreter;
struct Env;

using List = std::vector<Value>;

// Insertion-ordered string-keyed map. Chat-template dicts are small (a message, a tool
// schema), so a linear scan beats hashing and keeps order for free.
struct Dict {
  std::vector<std::pair<std::string, Value>> entries;

  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(std::string key, Value value);
};

// Arguments of a call after evaluation: positional values plus `name=value` pairs in
// source order.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  const Value* kwarg(std::string_view name) const;
};

// A builtin function, a macro, or a `caller` block. `env` is the scope of the call site
// (Jinja macros in @huggingface/jinja resolve free names dynamically there).
struct Callable {
  std::string name;  // for error messages
  std::function<Value(Interpreter&, CallArgs&, const std::shared_ptr<Env>& env)> fn;
};

enum class ValueKind {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,
  kDict,
  kCallable,
};

class Value {
 public:
  struct Undefined {
    bool operator==(const Undefined&) const = default;
  };
  struct None {
    bool operator==(const None&) const = default;
  };

  Value() : v_(Undefined{}) {}
  static Value none() { return Value(Repr(None{})); }
  static Value boolean(bool b) { return Value(Repr(b)); }
  static Value integer(int64_t i) { return Value(Repr(i)); }
  static Value floating(double f) { return Value(Repr(f)); }
  // An integer as JavaScript holds it: exact int64 within ±2^53, beyond that a double that
  // still counts and prints as an integer (no ".0"), as @huggingface/jinja's IntegerValue.
  static Value js_integer(double d);
  static Value string(std::string s) {
    return Value(Repr(std::make_shared<const std::string>(std::move(s))));
  }
  static Value list(List items, bool is_tuple = false);
  static Value dict(Dict d, bool is_namespace = false);
  static Value callable(std::string name, decltype(Callable::fn) fn);

  ValueKind kind() const { return static_cast<ValueKind>(v_.index()); }
  bool is_undefined() const { return kind() == ValueKind::kUndefined; }
  bool is_none() const { return kind() == ValueKind::kNone; }
  bool is_bool() const { return kind() == ValueKind::kBool; }
  bool is_int() const { return kind() == ValueKind::kInt; }
  bool is_float() const { return kind() == ValueKind::kFloat; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return kind() == ValueKind::kString; }
  bool is_list() const { return kind() == ValueKind::kList; }
  bool is_dict() const { return kind() == ValueKind::kDict; }
  bool is_callable() const { return kind() == ValueKind::kCallable; }
  bool is_namespace() const { return is_dict() && namespace_; }
  bool is_tuple() const { return is_list() && tuple_; }
  // An integer beyond ±2^53 stored as a double (see js_integer).
  bool is_big_int() const { return is_float() && big_int_; }
  bool is_integral() const { return is_int() || is_big_int(); }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  // int, float or bool as a double (bools count as 0/1 in arithmetic comparisons).
  double as_number() const;
  const std::string& as_string() const { return *std::get<std::shared_ptr<const std::string>>(v_); }
  const List& as_list() const { return *std::get<std::shared_ptr<List>>(v_); }
  List& as_list() { return *std::get<std::shared_ptr<List>>(v_); }
  const Dict& as_dict() const { return *std::get<std::shared_ptr<Dict>>(v_); }
  Dict& as_dict() { return *std::get<std::shared_ptr<Dict>>(v_); }
  const Callable& as_callable() const { return *std::get<std::shared_ptr<Callable>>(v_); }

  // Python truthiness: empty string/list/dict, 0, none, undefined are false.
  bool truthy() const;
  // What `{{ value }}` prints (@huggingface/jinja's toString): true/false lowercase,
  // floats with a ".0" when integral, lists and dicts as JSON.
  std::string to_output() const;
  // "StringValue"-style names are @huggingface/jinja's; ours are Python's type names.
  const char* type_name() const;

  // `==` as @huggingface/jinja evaluates it: numbers by value, strings by content,
  // none == undefined, containers by identity.
  bool loose_equals(const Value& other) const;
  // Strict membership identity used by `in` on lists: same kind and same scalar value.
  bool same_scalar(const Value& other) const;

 private:
  // Strings are shared and immutable: copying a value never copies text.
  using Repr =
      std::variant<Undefined, None, bool, int64_t, double, std::shared_ptr<const std::string>,
                   std::shared_ptr<List>, std::shared_ptr<Dict>, std::shared_ptr<Callable>>;
  explicit Value(Repr v) : v_(std::move(v)) {}

  Repr v_;
  bool tuple_ = false;      // a tuple literal; behaves as a list
  bool namespace_ = false;  // made by namespace(); only these accept `set ns.attr = ...`
  bool big_int_ = false;    // a float that JS would call an integer (|v| > 2^53)
};

// JSON context (messages, tools, extra keys) → runtime values. Integral JSON numbers become
// ints, others floats, as JS does for @huggingface/jinja. Use ordered_json to keep the
// client's key order (what `tojson` prints, as in Python); nlohmann::json sorts keys.
Value value_from_json(const nlohmann::json& j);
Value value_from_json(const nlohmann::ordered_json& j);

// JavaScript Number.prototype.toString for a double: shortest round-trip digits.
std::string js_number_to_string(double d);

// Code points of a UTF-8 string (invalid bytes are kept as single units).
std::vector<std::string> utf8_chars(std::string_view s);

}  // namespace xy::jinja
