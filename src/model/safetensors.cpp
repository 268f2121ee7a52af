// Validation of safetensors headers and file images. Everything here treats its input as
// hostile: it is fuzzed (fuzz/fuzz_safetensors_header.cpp) and must return a Status for any
// byte string, never crash, overflow or read outside the image.
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "model/safetensors_file.h"

namespace xy {

namespace {

using json = nlohmann::json;

std::string in_quotes(std::string_view s) {
  std::string out;  // built by append: GCC 12 -Wrestrict misfires on "'" + std::string
  out.reserve(s.size() + 2);
  out += '\'';
  out.append(s);
  out += '\'';
  return out;
}

// "file F: tensor 'T': " — the prefix of every per-tensor message.
std::string where(const std::string& file, const std::string& tensor) {
  return "file " + file + ": tensor " + in_quotes(tensor) + ": ";
}

// Real safetensors dtypes that xyserve does not load (the spec's full list minus F32/F16/BF16).
bool is_known_unsupported_dtype(std::string_view s) {
  static constexpr std::string_view kOthers[] = {
      "F64",  "I64",     "I32",     "I16",     "I8",      "U64",     "U32", "U16", "U8",
      "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",  "C64"};
  return std::find(std::begin(kOthers), std::end(kOthers), s) != std::end(kOthers);
}

Result<DType> parse_dtype(const json& v, const std::string& file, const std::string& tensor) {
  if (!v.is_string()) return format_error(where(file, tensor) + "'dtype' must be a string");
  const std::string& s = v.get_ref<const std::string&>();
  if (s == "F32") return DType::kF32;
  if (s == "F16") return DType::kF16;
  if (s == "BF16") return DType::kBF16;
  if (is_known_unsupported_dtype(s)) {
    return unsupported(where(file, tensor) + "dtype " + in_quotes(s) +
                       " is not supported (supported: F32, F16, BF16)");
  }
  return format_error(where(file, tensor) + "unknown dtype " + in_quotes(s));
}

// A JSON number that is a non-negative integer representable as uint64, else nullopt.
std::optional<uint64_t> as_unsigned(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= 0) return static_cast<uint64_t>(i);
  }
  return std::nullopt;
}

// Shape entries are non-negative and the product of the non-zero ones fits int64, so
// TensorInfo::numel() cannot overflow whatever the order of the dimensions.
Result<int64_t> parse_shape(const json& v, const std::string& file, const std::string& tensor,
                            std::vector<int64_t>* shape) {
  if (!v.is_array()) return format_error(where(file, tensor) + "'shape' must be an array");
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::optional<uint64_t> d = as_unsigned(v[i]);
    if (!d || *d > kMax) {
      return format_error(where(file, tensor) + "shape[" + std::to_string(i) +
                          "] must be a non-negative integer, got " + v[i].dump());
    }
    if (*d == 0) {
      has_zero = true;
    } else if (__builtin_mul_overflow(nonzero_product, *d, &nonzero_product) ||
               nonzero_product > kMax) {
      return format_error(where(file, tensor) + "shape " + v.dump() +
                          " has more elements than fit in 64 bits");
    }
    shape->push_back(static_cast<int64_t>(*d));
  }
  return has_zero ? int64_t{0} : static_cast<int64_t>(nonzero_product);
}

Result<SafetensorsEntry> parse_entry(const std::string& name, const json& v,
                                     const std::string& file) {
  if (name.empty()) return format_error("file " + file + ": a tensor has an empty name");
  if (!v.is_object()) return format_error(where(file, name) + "entry must be a JSON object");
  const auto dtype_it = v.find("dtype");
  const auto shape_it = v.find("shape");
  const auto offsets_it = v.find("data_offsets");
  if (dtype_it == v.end()) return format_error(where(file, name) + "missing 'dtype'");
  if (shape_it == v.end()) return format_error(where(file, name) + "missing 'shape'");
  if (offsets_it == v.end()) return format_error(where(file, name) + "missing 'data_offsets'");

  SafetensorsEntry e;
  e.info.name = name;
  e.info.file = file;
  XY_ASSIGN_OR_RETURN(e.info.dtype, parse_dtype(*dtype_it, file, name));
  XY_ASSIGN_OR_RETURN(const int64_t numel, parse_shape(*shape_it, file, name, &e.info.shape));

  const json& offs = *offsets_it;
  if (!offs.is_array() || offs.size() != 2) {
    return format_error(where(file, name) + "'data_offsets' must be [begin, end]");
  }
  const std::optional<uint64_t> begin = as_unsigned(offs[0]);
  const std::optional<uint64_t> end = as_unsigned(offs[1]);
  if (!begin || !end) {
    return format_error(where(file, name) + "data_offsets " + offs.dump() +
                        " must be non-negative 64-bit integers");
  }
  if (*begin > *end) {
    return format_error(where(file, name) + "data_offsets " + offs.dump() +
                        " are out of order (begin > end)");
  }
  uint64_t expected_bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel),
                             static_cast<uint64_t>(dtype_size(e.info.dtype)), &expected_bytes)) {
    return format_error(where(file, name) + "shape " + shape_it->dump() +
                        " is too large to be stored");
  }
  if (*end - *begin != expected_bytes) {
    return format_error(where(file, name) + "data_offsets " + offs.dump() + " span " +
                        std::to_string(*end - *begin) + " bytes but shape " + shape_it->dump() +
                        " of " + std::string(dtype_name(e.info.dtype)) + " needs " +
                        std::to_string(expected_bytes));
  }
  e.begin = *begin;
  e.info.num_bytes = static_cast<size_t>(expected_bytes);
  return e;
}

Status check_metadata(const json& v, const std::string& file) {
  if (v.is_null()) return Status::ok();
  if (!v.is_object()) return format_error("file " + file + ": '__metadata__' must be an object");
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string()) {
      return format_error("file " + file + ": '__metadata__' value of " + in_quotes(key) +
                          " must be a string");
    }
  }
  return Status::ok();
}

// Parses JSON, refusing duplicate top-level keys: nlohmann would silently keep the last one,
// hiding a tensor that the file's author may have meant.
Result<json> parse_header_json(const std::string& text, const std::string& file) {
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && duplicate.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  try {
    json j = json::parse(text, on_event, /*allow_exceptions=*/true);
    if (!duplicate.empty()) {
      return format_error("file " + file + ": tensor " + in_quotes(duplicate) +
                          " appears twice in the header");
    }
    return j;
  } catch (const json::exception& e) {
    return format_error("file " + file + ": header is not valid JSON: " + e.what());
  } catch (const std::bad_alloc&) {
    return resource_exhausted("file " + file + ": out of memory parsing the header");
  }
}

}  // namespace

Result<std::vector<SafetensorsEntry>> parse_safetensors_header_entries(
    const std::string& header_json, uint64_t data_size, const std::string& file_name) {
  XY_ASSIGN_OR_RETURN(const json header, parse_header_json(header_json, file_name));
  if (!header.is_object()) {
    return format_error("file " + file_name + ": header must be a JSON object, got " +
                        header.type_name());
  }
  std::vector<SafetensorsEntry> entries;
  for (const auto& [key, value] : header.items()) {  // sorted by key
    if (key == "__metadata__") {
      XY_RETURN_IF_ERROR(check_metadata(value, file_name));
      continue;
    }
    XY_ASSIGN_OR_RETURN(SafetensorsEntry e, parse_entry(key, value, file_name));
    entries.push_back(std::move(e));
  }

  // The tensor reaching furthest decides whether the data section is complete; naming it and
  // both sizes tells a truncated download apart from a corrupt offset.
  const SafetensorsEntry* furthest = nullptr;
  for (const SafetensorsEntry& e : entries) {
    if (furthest == nullptr ||
        e.begin + e.info.num_bytes > furthest->begin + furthest->info.num_bytes) {
      furthest = &e;
    }
  }
  if (furthest != nullptr && furthest->begin + furthest->info.num_bytes > data_size) {
    const uint64_t needed = furthest->begin + furthest->info.num_bytes;
    return format_error("file " + file_name + ": header says data section is " +
                        std::to_string(needed) + " bytes but file has " +
                        std::to_string(data_size) + " (tensor " + in_quotes(furthest->info.name) +
                        " ends at byte " + std::to_string(needed) + ")");
  }

  // Overlap: sorted by begin, each non-empty tensor must start at or after the furthest end so
  // far. Empty tensors occupy no bytes and cannot overlap.
  std::vector<const SafetensorsEntry*> by_begin;
  for (const SafetensorsEntry& e : entries) {
    if (e.info.num_bytes > 0) by_begin.push_back(&e);
  }
  std::sort(
      by_begin.begin(), by_begin.end(),
      [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  const SafetensorsEntry* reach = nullptr;  // the entry with the largest end so far
  for (const SafetensorsEntry* e : by_begin) {
    if (reach != nullptr && e->begin < reach->begin + reach->info.num_bytes) {
      auto range = [](const SafetensorsEntry* x) {
        std::string r = "[";
        r += std::to_string(x->begin);
        r += ", ";
        r += std::to_string(x->begin + x->info.num_bytes);
        r += ")";
        return r;
      };
      return format_error("file " + file_name + ": tensors " + in_quotes(reach->info.name) + " " +
                          range(reach) + " and " + in_quotes(e->info.name) + " " + range(e) +
                          " overlap");
    }
    if (reach == nullptr || e->begin + e->info.num_bytes > reach->begin + reach->info.num_bytes) {
      reach = e;
    }
  }
  return entries;
}

Result<std::vector<TensorInfo>> parse_safetensors_header(const std::string& header_json,
                                                         uint64_t data_size,
                                                         const std::string& file_name) {
  XY_ASSIGN_OR_RETURN(std::vector<SafetensorsEntry> entries,
                      parse_safetensors_header_entries(header_json, data_size, file_name));
  std::vector<TensorInfo> out;
  out.reserve(entries.size());
  for (SafetensorsEntry& e : entries) out.push_back(std::move(e.info));
  return out;
}

Result<SafetensorsLayout> parse_safetensors_layout(const uint8_t* bytes, size_t size,
                                                   const std::string& file_name) {
  if (size < 8) {
    return format_error("file " + file_name + ": " + std::to_string(size) +
                        " bytes, too small for the 8-byte safetensors header length");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little-endian
  const uint64_t after_prefix = size - 8;
  if (header_len > after_prefix) {
    return format_error("file " + file_name + ": header length " + std::to_string(header_len) +
                        " runs past the end of the file (" + std::to_string(after_prefix) +
                        " bytes after the 8-byte length)");
  }
  if (header_len > kMaxSafetensorsHeaderBytes) {
    return format_error("file " + file_name + ": header length " + std::to_string(header_len) +
                        " exceeds the " + std::to_string(kMaxSafetensorsHeaderBytes) +
                        "-byte limit");
  }
  if (header_len == 0 || bytes[8] != '{') {
    return format_error("file " + file_name + ": header does not start with '{'");
  }
  const std::string header(reinterpret_cast<const char*>(bytes + 8), header_len);
  SafetensorsLayout layout;
  layout.data_start = 8 + header_len;
  XY_ASSIGN_OR_RETURN(layout.entries, parse_safetensors_header_entries(
                                          header, size - layout.data_start, file_name));
  return layout;
}

Result<std::vector<TensorInfo>> locate_safetensors(SafetensorsLayout layout, const uint8_t* bytes,
                                                   const std::string& file_name) {
  std::vector<TensorInfo> out;
  out.reserve(layout.entries.size());
  for (SafetensorsEntry& e : layout.entries) {
    const uint64_t file_offset = layout.data_start + e.begin;
    const size_t elem = dtype_size(e.info.dtype);
    if (e.info.num_bytes > 0 && reinterpret_cast<uintptr_t>(bytes + file_offset) % elem != 0) {
      return unsupported(where(file_name, e.info.name) + "data at file offset " +
                         std::to_string(file_offset) + " (byte " + std::to_string(e.begin) +
                         " of the data section) is not aligned to its " + std::to_string(elem) +
                         "-byte " + std::string(dtype_name(e.info.dtype)) +
                         " elements (xyserve reads tensors in place)");
    }
    e.info.data = bytes + file_offset;
    out.push_back(std::move(e.info));
  }
  return out;
}

Result<std::vector<TensorInfo>> parse_safetensors_file(const uint8_t* bytes, size_t size,
                                                       const std::string& file_name) {
  XY_ASSIGN_OR_RETURN(SafetensorsLayout layout, parse_safetensors_layout(bytes, size, file_name));
  return locate_safetensors(std::move(layout), bytes, file_name);
}

}  // namespace xy
