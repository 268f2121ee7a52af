// Byte-level reading of a GGUF file (the format of llama.cpp's model files), written from the
// format's public description: a header (magic "GGUF", version, counts), typed key-value
// metadata, tensor infos, then the tensor data section at the file's alignment.
//
//   u32 magic = "GGUF" | u32 version (2 or 3) | u64 n_tensors | u64 n_kv
//   n_kv x      { string key, u32 value_type, value }
//   n_tensors x { string name, u32 n_dims, u64 dims[n_dims], u32 ggml_type, u64 offset }
//   padding to general.alignment (default 32), then the data section; offsets are relative to it
//   string = u64 length + bytes (no terminator); array value = u32 element type, u64 count, items
//   Everything is little-endian.
//
// Every count, length, offset and size is validated against the bytes actually present before
// anything is allocated or read, so a truncated or hostile file is a kFormatError naming what is
// wrong, never a crash or a huge allocation (fuzz/fuzz_gguf.cpp). Parsing does not copy tensor
// data: infos point into the caller's bytes, which must outlive the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace xy::gguf {

// Metadata value types, numbered as the format stores them.
enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

const char* value_type_name(ValueType t);

// One metadata value. Scalars: integers and bools in `i` (uint64 values above INT64_MAX keep
// their bit pattern), floats in `f`, strings in `s`. Arrays (of any non-array type): element
// type in `array_type`, items in `strings` (string arrays), `ints` (integer and bool arrays) or
// `floats` (float arrays).
struct Value {
  ValueType type = ValueType::kUint8;
  ValueType array_type = ValueType::kUint8;
  int64_t i = 0;
  double f = 0.0;
  std::string s;
  std::vector<std::string> strings;
  std::vector<int64_t> ints;
  std::vector<double> floats;

  bool is_integer() const;  // a scalar of an integer type
  bool is_float() const { return type == ValueType::kFloat32 || type == ValueType::kFloat64; }
  size_t array_size() const { return strings.size() + ints.size() + floats.size(); }
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> dims;      // GGUF order: dims[0] is the contiguous (innermost) dimension
  uint32_t ggml_type = 0;         // see kernels/reference/quant_blocks.h BlockFormat
  uint64_t offset = 0;            // bytes from the start of the data section
  uint64_t size = 0;              // bytes
  const uint8_t* data = nullptr;  // [size] bytes inside the parsed image

  int64_t num_elements() const;
};

struct File {
  uint32_t version = 0;
  uint64_t alignment = 32;   // general.alignment, a power of two
  uint64_t data_offset = 0;  // file offset of the data section
  std::map<std::string, Value> metadata;
  std::vector<TensorInfo> tensors;  // in file order

  const Value* find(const std::string& key) const;
  const TensorInfo* find_tensor(const std::string& name) const;
  // Typed metadata access; kNotFound when absent, kFormatError naming the key when its type does
  // not fit (any integer type converts to an integer when the value fits).
  Result<std::string> get_string(const std::string& key) const;
  Result<int64_t> get_int(const std::string& key) const;
  Result<double> get_float(const std::string& key) const;  // float or integer types
  Result<bool> get_bool(const std::string& key) const;
};

// Parses a whole file image. `file_name` prefixes every error message.
Result<File> parse_file(const uint8_t* bytes, size_t size, const std::string& file_name);

}  // namespace xy::gguf
