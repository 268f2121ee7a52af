#include "tokenizer/jinja/value_tests.h"

#include <array>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/string_ops.h"

namespace xy::jinja {
namespace {

constexpr std::array<std::string_view, 24> kTests = {
    "boolean", "callable",  "odd",     "even",     "false",   "true",        "none",   "string",
    "number",  "integer",   "float",   "iterable", "mapping", "sequence",    "lower",  "upper",
    "defined", "undefined", "equalto", "eq",       "ne",      "divisibleby", "sameas", "in",
};

const Value& arg0(std::string_view name, const std::vector<Value>& args) {
  if (args.empty()) throw_runtime("test '" + std::string(name) + "' needs an argument");
  return args[0];
}

}  // namespace

bool is_known_test(std::string_view name) {
  for (std::string_view t : kTests) {
    if (t == name) return true;
  }
  return false;
}

bool apply_test(std::string_view name, const Value& v, const std::vector<Value>& args) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_integral();
  if (name == "float") return v.is_float() && !v.is_big_int();
  if (name == "callable") return v.is_callable();
  // @huggingface/jinja: only plain lists and strings are iterable (not tuples, not dicts).
  if (name == "iterable") return (v.is_list() && !v.is_tuple()) || v.is_string();
  if (name == "mapping") return v.is_dict() && !v.is_namespace();
  if (name == "sequence") return v.is_list() || (v.is_dict() && !v.is_namespace()) || v.is_string();
  if (name == "lower") return v.is_string() && v.as_string() == to_lower(v.as_string());
  if (name == "upper") return v.is_string() && v.as_string() == to_upper(v.as_string());
  if (name == "odd" || name == "even") {
    if (!v.is_int())
      throw_runtime("test '" + std::string(name) + "' needs an integer, got " + v.type_name());
    const bool odd = v.as_int() % 2 != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "divisibleby") {
    const Value& d = arg0(name, args);
    if (!v.is_int() || !d.is_int() || d.as_int() == 0)
      throw_runtime("test 'divisibleby' needs a non-zero integer");
    return v.as_int() % d.as_int() == 0;
  }
  if (name == "equalto" || name == "eq" || name == "sameas") return v.same_scalar(arg0(name, args));
  if (name == "ne") return !v.same_scalar(arg0(name, args));
  if (name == "in") {
    const Value& c = arg0(name, args);
    if (c.is_list()) {
      for (const Value& x : c.as_list()) {
        if (x.same_scalar(v)) return true;
      }
      return false;
    }
    if (c.is_string() && v.is_string())
      return c.as_string().find(v.as_string()) != std::string::npos;
    if (c.is_dict() && v.is_string()) return c.as_dict().find(v.as_string()) != nullptr;
    throw_runtime(std::string("test 'in' cannot search a ") + c.type_name());
  }
  throw_runtime("unknown test '" + std::string(name) + "'");
}

}  // namespace xy::jinja
