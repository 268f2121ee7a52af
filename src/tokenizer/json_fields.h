// Typed access to tokenizer.json members with precise errors: every failure names the file and
// the JSON path of the offending member ("tokenizer.json: pre_tokenizer.pretokenizers[1].type").
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace xy::tokjson {

using Json = nlohmann::json;

// The member, or nullptr when `obj` is not an object, lacks it, or holds null there.
inline const Json* find(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

inline std::string path(std::string_view where, std::string_view key) {
  return std::string(where) + "." + std::string(key);
}

inline Result<std::string> required_string(const Json& obj, std::string_view key,
                                           std::string_view where) {
  const Json* v = find(obj, key);
  if (v == nullptr) return format_error(path(where, key) + ": missing (expected a string)");
  if (!v->is_string()) return format_error(path(where, key) + ": expected a string");
  return v->get<std::string>();
}

inline Result<std::optional<std::string>> optional_string(const Json& obj, std::string_view key,
                                                          std::string_view where) {
  const Json* v = find(obj, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return format_error(path(where, key) + ": expected a string or null");
  return std::optional<std::string>(v->get<std::string>());
}

inline Result<bool> bool_or(const Json& obj, std::string_view key, bool fallback,
                            std::string_view where) {
  const Json* v = find(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return format_error(path(where, key) + ": expected true or false");
  return v->get<bool>();
}

inline Result<int64_t> int_or(const Json& obj, std::string_view key, int64_t fallback,
                              std::string_view where) {
  const Json* v = find(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer()) return format_error(path(where, key) + ": expected an integer");
  return v->get<int64_t>();
}

// The "type" member of a component object.
inline Result<std::string> component_type(const Json& obj, std::string_view where) {
  if (!obj.is_object()) return format_error(std::string(where) + ": expected an object");
  return required_string(obj, "type", where);
}

}  // namespace xy::tokjson
