#include "tokenizer/jinja/value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja/json_dump.h"

namespace xy::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

Value* Dict::find(std::string_view key) {
  for (auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Dict::set(std::string key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  entries.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::kwarg(std::string_view name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return nullptr;
}

Value Value::list(List items, bool is_tuple) {
  Value v(Repr(std::make_shared<List>(std::move(items))));
  v.tuple_ = is_tuple;
  return v;
}

Value Value::dict(Dict d, bool is_namespace) {
  Value v(Repr(std::make_shared<Dict>(std::move(d))));
  v.namespace_ = is_namespace;
  return v;
}

Value Value::callable(std::string name, decltype(Callable::fn) fn) {
  return Value(Repr(std::make_shared<Callable>(Callable{std::move(name), std::move(fn)})));
}

Value Value::js_integer(double d) {
  constexpr double kMaxSafe = 9007199254740992.0;  // 2^53
  if (std::fabs(d) <= kMaxSafe) return Value::integer(static_cast<int64_t>(d));
  Value v = Value::floating(d);
  v.big_int_ = std::isfinite(d);
  return v;
}

double Value::as_number() const {
  switch (kind()) {
    case ValueKind::kInt:
      return static_cast<double>(as_int());
    case ValueKind::kFloat:
      return as_float();
    case ValueKind::kBool:
      return as_bool() ? 1.0 : 0.0;
    default:
      return 0.0;
  }
}

bool Value::truthy() const {
  switch (kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kNone:
      return false;
    case ValueKind::kBool:
      return as_bool();
    case ValueKind::kInt:
      return as_int() != 0;
    case ValueKind::kFloat:
      return as_float() != 0.0 && !std::isnan(as_float());
    case ValueKind::kString:
      return !as_string().empty();
    case ValueKind::kList:
      return !as_list().empty();
    case ValueKind::kDict:
      return namespace_ || !as_dict().entries.empty();
    case ValueKind::kCallable:
      return true;
  }
  return false;
}

std::string Value::to_output() const {
  switch (kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kNone:
      return "";
    case ValueKind::kBool:
      return as_bool() ? "true" : "false";
    case ValueKind::kInt:
      return std::to_string(as_int());
    case ValueKind::kFloat: {
      const double d = as_float();
      if (big_int_) return js_number_to_string(d);
      if (d == 0.0 && std::signbit(d)) return "-0.0";
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e21) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1f", d);
        return buf;
      }
      return js_number_to_string(d);
    }
    case ValueKind::kString:
      return as_string();
    case ValueKind::kList:
    case ValueKind::kDict: {
      JsonDumpOptions opts;
      opts.undefined_as_null = false;
      return json_dump(*this, opts);
    }
    case ValueKind::kCallable:
      return "[function " + as_callable().name + "]";
  }
  return "";
}

const char* Value::type_name() const {
  switch (kind()) {
    case ValueKind::kUndefined:
      return "undefined";
    case ValueKind::kNone:
      return "none";
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kInt:
      return "int";
    case ValueKind::kFloat:
      return "float";
    case ValueKind::kString:
      return "string";
    case ValueKind::kList:
      return tuple_ ? "tuple" : "list";
    case ValueKind::kDict:
      return namespace_ ? "namespace" : "dict";
    case ValueKind::kCallable:
      return "callable";
  }
  return "?";
}

bool Value::loose_equals(const Value& other) const {
  const bool nullish_a = is_none() || is_undefined();
  const bool nullish_b = other.is_none() || other.is_undefined();
  if (nullish_a || nullish_b) return nullish_a && nullish_b;
  const bool num_a = is_number() || is_bool();
  const bool num_b = other.is_number() || other.is_bool();
  if (num_a && num_b) return as_number() == other.as_number();
  if (is_string() && other.is_string()) return as_string() == other.as_string();
  if (kind() != other.kind()) return false;
  return v_ == other.v_;  // containers and callables: identity (shared_ptr equality)
}

bool Value::same_scalar(const Value& other) const {
  if (is_number() && other.is_number()) return as_number() == other.as_number();
  if (is_string() && other.is_string()) return as_string() == other.as_string();
  if (kind() != other.kind()) return false;
  return v_ == other.v_;
}

namespace {

template <class Json>
Value from_json_impl(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return Value::none();
    case Json::value_t::boolean:
      return Value::boolean(j.template get<bool>());
    // JS parses every JSON number into a double: integers beyond 2^53 lose precision there.
    case Json::value_t::number_integer:
      return Value::js_integer(static_cast<double>(j.template get<int64_t>()));
    case Json::value_t::number_unsigned:
      return Value::js_integer(static_cast<double>(j.template get<uint64_t>()));
    case Json::value_t::number_float: {
      const double d = j.template get<double>();
      // JS has one number type: 2.0 in the JSON context is the integer 2 there.
      if (std::isfinite(d) && d == std::floor(d)) return Value::js_integer(d);
      return Value::floating(d);
    }
    case Json::value_t::string:
      return Value::string(j.template get<std::string>());
    case Json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json_impl(e));
      return Value::list(std::move(items));
    }
    case Json::value_t::object: {
      Dict d;
      d.entries.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), from_json_impl(it.value()));
      return Value::dict(std::move(d));
    }
    default:
      return Value();
  }
}

}  // namespace

Value value_from_json(const nlohmann::json& j) {
  return from_json_impl(j);
}
Value value_from_json(const nlohmann::ordered_json& j) {
  return from_json_impl(j);
}

std::string js_number_to_string(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0.0) return "0";
  // Shortest %e precision that round-trips, as ECMAScript Number::toString requires.
  char buf[64];
  int precision = 1;
  for (; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s(buf);
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.erase(0, 1);
  }
  const size_t e_pos = s.find('e');
  const int exponent = std::atoi(s.c_str() + e_pos + 1);
  std::string digits;
  for (size_t i = 0; i < e_pos; ++i) {
    if (s[i] != '.') digits += s[i];
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // position of the decimal point relative to the digits
  std::string out;
  if (k <= n && n <= 21) {
    out = digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    out = digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out = "0." + std::string(-n, '0') + digits;
  } else {
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0) ? "e+" : "e-";
    out += std::to_string(std::abs(n - 1));
  }
  return sign + out;
}

std::vector<std::string> utf8_chars(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 1;
    if (c >= 0xF0 && c <= 0xF7)
      len = 4;
    else if (c >= 0xE0)
      len = 3;
    else if (c >= 0xC0)
      len = 2;
    if (c >= 0xF8 || (c >= 0x80 && c < 0xC0) || i + len > s.size()) len = 1;
    for (size_t j = 1; j < len; ++j) {
      if ((static_cast<unsigned char>(s[i + j]) & 0xC0) != 0x80) {
        len = 1;
        break;
      }
    }
    out.emplace_back(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace xy::jinja
