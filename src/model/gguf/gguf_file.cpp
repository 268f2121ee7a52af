#include "model/gguf/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/reference/quant_blocks.h"

namespace xy::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kMaxDims = 4;         // GGML tensors have at most four dimensions
constexpr uint64_t kMaxKeyBytes = 65535;
constexpr uint64_t kDefaultAlignment = 32;

// Reads little-endian values from [pos, end), failing instead of reading past the end.
class Cursor {
 public:
  Cursor(const uint8_t* bytes, size_t size, const std::string& file_name)
      : bytes_(bytes), size_(size), file_(file_name) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  Status need(uint64_t n, const std::string& what) const {
    if (n > remaining()) {
      return format_error(file_ + ": truncated: " + what + " needs " + std::to_string(n) +
                          " bytes at offset " + std::to_string(pos_) + ", only " +
                          std::to_string(remaining()) + " remain");
    }
    return Status::ok();
  }

  template <class T>
  Result<T> read(const std::string& what) {
    XY_RETURN_IF_ERROR(need(sizeof(T), what));
    T v;
    std::memcpy(&v, bytes_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Result<std::string> read_string(const std::string& what, uint64_t max_bytes) {
    XY_ASSIGN_OR_RETURN(uint64_t n, read<uint64_t>(what + " length"));
    if (n > max_bytes) {
      return format_error(file_ + ": " + what + " is " + std::to_string(n) +
                          " bytes long, more than the " + std::to_string(max_bytes) + " allowed");
    }
    XY_RETURN_IF_ERROR(need(n, what));
    std::string s(reinterpret_cast<const char*>(bytes_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }

  const std::string& file() const { return file_; }

 private:
  const uint8_t* bytes_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& file_;
};

// Bytes a value of a fixed-size type takes; 0 for strings and arrays.
uint64_t fixed_size(ValueType t) {
  switch (t) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
      return 8;
    default:
      return 0;
  }
}

bool known_type(uint32_t t) {
  return t <= uint32_t(ValueType::kFloat64);
}

// One scalar of a fixed-size type into `v`.
Status read_scalar(Cursor& c, ValueType t, const std::string& what, Value& v) {
  switch (t) {
    case ValueType::kUint8: {
      XY_ASSIGN_OR_RETURN(uint8_t x, c.read<uint8_t>(what));
      v.i = x;
      return Status::ok();
    }
    case ValueType::kInt8: {
      XY_ASSIGN_OR_RETURN(int8_t x, c.read<int8_t>(what));
      v.i = x;
      return Status::ok();
    }
    case ValueType::kUint16: {
      XY_ASSIGN_OR_RETURN(uint16_t x, c.read<uint16_t>(what));
      v.i = x;
      return Status::ok();
    }
    case ValueType::kInt16: {
      XY_ASSIGN_OR_RETURN(int16_t x, c.read<int16_t>(what));
      v.i = x;
      return Status::ok();
    }
    case ValueType::kUint32: {
      XY_ASSIGN_OR_RETURN(uint32_t x, c.read<uint32_t>(what));
      v.i = x;
      return Status::ok();
    }
    case ValueType::kInt32: {
      XY_ASSIGN_OR_RETURN(int32_t x, c.read<int32_t>(what));
      v.i = x;
      return Status::ok();
    }
    case ValueType::kUint64: {
      XY_ASSIGN_OR_RETURN(uint64_t x, c.read<uint64_t>(what));
      std::memcpy(&v.i, &x, 8);
      return Status::ok();
    }
    case ValueType::kInt64: {
      XY_ASSIGN_OR_RETURN(int64_t x, c.read<int64_t>(what));
      v.i = x;
      return Status::ok();
    }
    case ValueType::kFloat32: {
      XY_ASSIGN_OR_RETURN(float x, c.read<float>(what));
      v.f = x;
      return Status::ok();
    }
    case ValueType::kFloat64: {
      XY_ASSIGN_OR_RETURN(double x, c.read<double>(what));
      v.f = x;
      return Status::ok();
    }
    case ValueType::kBool: {
      XY_ASSIGN_OR_RETURN(uint8_t x, c.read<uint8_t>(what));
      if (x > 1) {
        return format_error(c.file() + ": " + what + " is a bool holding " + std::to_string(x) +
                            " (must be 0 or 1)");
      }
      v.i = x;
      return Status::ok();
    }
    default:
      return internal_error("read_scalar of a non-scalar type");
  }
}

Status read_value(Cursor& c, ValueType t, const std::string& key, Value& v) {
  v.type = t;
  if (t == ValueType::kString) {
    XY_ASSIGN_OR_RETURN(v.s, c.read_string("value of '" + key + "'", c.remaining()));
    return Status::ok();
  }
  if (t != ValueType::kArray) return read_scalar(c, t, "value of '" + key + "'", v);

  XY_ASSIGN_OR_RETURN(uint32_t et, c.read<uint32_t>("array type of '" + key + "'"));
  if (!known_type(et)) {
    return format_error(c.file() + ": metadata '" + key + "' is an array of unknown type " +
                        std::to_string(et));
  }
  if (ValueType(et) == ValueType::kArray) {
    return unsupported(c.file() + ": metadata '" + key + "' is an array of arrays");
  }
  v.array_type = ValueType(et);
  XY_ASSIGN_OR_RETURN(uint64_t n, c.read<uint64_t>("array length of '" + key + "'"));
  // Each item takes at least its fixed size (a string at least its 8-byte length), so a count
  // larger than the remaining bytes allow is a corrupt file, caught before any allocation.
  const uint64_t min_item = v.array_type == ValueType::kString ? 8 : fixed_size(v.array_type);
  if (n > c.remaining() / min_item) {
    return format_error(c.file() + ": metadata '" + key + "' claims " + std::to_string(n) +
                        " items, more than the " + std::to_string(c.remaining()) +
                        " remaining bytes can hold");
  }
  const std::string what = "item of '" + key + "'";
  if (v.array_type == ValueType::kString) {
    v.strings.reserve(size_t(n));
    for (uint64_t i = 0; i < n; ++i) {
      XY_ASSIGN_OR_RETURN(std::string s, c.read_string(what, c.remaining()));
      v.strings.push_back(std::move(s));
    }
  } else if (v.array_type == ValueType::kFloat32 || v.array_type == ValueType::kFloat64) {
    v.floats.reserve(size_t(n));
    Value item;
    for (uint64_t i = 0; i < n; ++i) {
      XY_RETURN_IF_ERROR(read_scalar(c, v.array_type, what, item));
      v.floats.push_back(item.f);
    }
  } else {
    v.ints.reserve(size_t(n));
    Value item;
    for (uint64_t i = 0; i < n; ++i) {
      XY_RETURN_IF_ERROR(read_scalar(c, v.array_type, what, item));
      v.ints.push_back(item.i);
    }
  }
  return Status::ok();
}

Result<TensorInfo> read_tensor_info(Cursor& c, uint64_t index) {
  TensorInfo t;
  const std::string which = "tensor #" + std::to_string(index);
  XY_ASSIGN_OR_RETURN(t.name, c.read_string(which + " name", kMaxKeyBytes));
  const std::string what = "tensor '" + t.name + "'";
  XY_ASSIGN_OR_RETURN(uint32_t n_dims, c.read<uint32_t>(what + " dimension count"));
  if (n_dims == 0 || n_dims > kMaxDims) {
    return format_error(c.file() + ": " + what + " has " + std::to_string(n_dims) +
                        " dimensions (1 to 4 allowed)");
  }
  int64_t elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    XY_ASSIGN_OR_RETURN(uint64_t n, c.read<uint64_t>(what + " dimension"));
    if (n == 0 || n > uint64_t(std::numeric_limits<int64_t>::max()) ||
        int64_t(n) > std::numeric_limits<int64_t>::max() / elements) {
      return format_error(c.file() + ": " + what + " has an invalid dimension " +
                          std::to_string(n) + " (zero, or the element count overflows)");
    }
    elements *= int64_t(n);
    t.dims.push_back(int64_t(n));
  }
  XY_ASSIGN_OR_RETURN(t.ggml_type, c.read<uint32_t>(what + " type"));
  XY_ASSIGN_OR_RETURN(t.offset, c.read<uint64_t>(what + " offset"));
  const ref::BlockFormatInfo* format = ref::block_format_info(t.ggml_type);
  if (!format) {
    return unsupported(c.file() + ": " + what + " has tensor type " + std::to_string(t.ggml_type) +
                       ", which xyserve does not know");
  }
  if (t.dims[0] % format->block_elems != 0) {
    return format_error(c.file() + ": " + what + " of type " + std::string(format->name) +
                        " has rows of " + std::to_string(t.dims[0]) +
                        " elements, not a multiple of its block of " +
                        std::to_string(format->block_elems));
  }
  // blocks * block_bytes can overflow (F32: 2^62 elements of 4 bytes), so check before multiplying.
  const uint64_t blocks = uint64_t(elements) / uint64_t(format->block_elems);
  if (blocks > std::numeric_limits<uint64_t>::max() / uint64_t(format->block_bytes)) {
    return format_error(c.file() + ": " + what + " is too large");
  }
  t.size = blocks * uint64_t(format->block_bytes);
  return t;
}

}  // namespace

const char* value_type_name(ValueType t) {
  static const char* kNames[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                 "int32",  "float32", "bool",   "string", "array",
                                 "uint64", "int64",   "float64"};
  return uint32_t(t) < sizeof(kNames) / sizeof(kNames[0]) ? kNames[uint32_t(t)] : "unknown";
}

bool Value::is_integer() const {
  switch (type) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kUint16:
    case ValueType::kInt16:
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kUint64:
    case ValueType::kInt64:
      return true;
    default:
      return false;
  }
}

int64_t TensorInfo::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

const Value* File::find(const std::string& key) const {
  auto it = metadata.find(key);
  return it == metadata.end() ? nullptr : &it->second;
}

const TensorInfo* File::find_tensor(const std::string& name) const {
  for (const TensorInfo& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

Result<std::string> File::get_string(const std::string& key) const {
  const Value* v = find(key);
  if (!v) return not_found("GGUF metadata '" + key + "' is missing");
  if (v->type != ValueType::kString) {
    return format_error("GGUF metadata '" + key + "' is a " + value_type_name(v->type) +
                        ", expected a string");
  }
  return v->s;
}

Result<int64_t> File::get_int(const std::string& key) const {
  const Value* v = find(key);
  if (!v) return not_found("GGUF metadata '" + key + "' is missing");
  if (!v->is_integer() || (v->type == ValueType::kUint64 && v->i < 0)) {
    return format_error("GGUF metadata '" + key + "' is a " + value_type_name(v->type) +
                        ", expected an integer that fits 64 signed bits");
  }
  return v->i;
}

Result<double> File::get_float(const std::string& key) const {
  const Value* v = find(key);
  if (!v) return not_found("GGUF metadata '" + key + "' is missing");
  if (v->is_float()) return v->f;
  if (v->is_integer()) return double(v->i);
  return format_error("GGUF metadata '" + key + "' is a " + value_type_name(v->type) +
                      ", expected a number");
}

Result<bool> File::get_bool(const std::string& key) const {
  const Value* v = find(key);
  if (!v) return not_found("GGUF metadata '" + key + "' is missing");
  if (v->type != ValueType::kBool) {
    return format_error("GGUF metadata '" + key + "' is a " + value_type_name(v->type) +
                        ", expected a bool");
  }
  return v->i != 0;
}

static Result<File> parse_file_unchecked(const uint8_t* bytes, size_t size,
                                         const std::string& file_name);

Result<File> parse_file(const uint8_t* bytes, size_t size, const std::string& file_name) {
  // Counts are bounded by the file's size before anything is reserved, but a file of gigabytes
  // of tiny array items can still ask for more memory than there is.
  try {
    return parse_file_unchecked(bytes, size, file_name);
  } catch (const std::bad_alloc&) {
    return resource_exhausted(file_name + ": out of memory reading the GGUF metadata");
  }
}

static Result<File> parse_file_unchecked(const uint8_t* bytes, size_t size,
                                         const std::string& file_name) {
  Cursor c(bytes, size, file_name);
  File f;
  XY_ASSIGN_OR_RETURN(uint32_t magic, c.read<uint32_t>("the GGUF magic"));
  if (magic != kMagic) {
    return format_error(file_name + ": not a GGUF file (the first four bytes are not \"GGUF\")");
  }
  XY_ASSIGN_OR_RETURN(f.version, c.read<uint32_t>("the GGUF version"));
  if (f.version != 2 && f.version != 3) {
    return unsupported(file_name + ": GGUF version " + std::to_string(f.version) +
                       " (versions 2 and 3 are supported; convert version 1 files again)");
  }
  XY_ASSIGN_OR_RETURN(uint64_t n_tensors, c.read<uint64_t>("the tensor count"));
  XY_ASSIGN_OR_RETURN(uint64_t n_kv, c.read<uint64_t>("the metadata count"));
  // A key-value pair takes at least 8 + 4 + 1 bytes, a tensor info at least 8 + 4 + 8 + 4 + 8.
  if (n_kv > c.remaining() / 13 || n_tensors > c.remaining() / 32) {
    return format_error(file_name + ": the header claims " + std::to_string(n_kv) +
                        " metadata entries and " + std::to_string(n_tensors) +
                        " tensors, more than the file's " + std::to_string(size) +
                        " bytes can hold");
  }

  for (uint64_t i = 0; i < n_kv; ++i) {
    XY_ASSIGN_OR_RETURN(std::string key,
                        c.read_string("metadata key #" + std::to_string(i), kMaxKeyBytes));
    XY_ASSIGN_OR_RETURN(uint32_t type, c.read<uint32_t>("type of '" + key + "'"));
    if (!known_type(type)) {
      return format_error(file_name + ": metadata '" + key + "' has unknown value type " +
                          std::to_string(type));
    }
    Value v;
    XY_RETURN_IF_ERROR(read_value(c, ValueType(type), key, v));
    if (!f.metadata.emplace(key, std::move(v)).second) {
      return format_error(file_name + ": metadata key '" + key + "' appears twice");
    }
  }
  if (const Value* a = f.find("general.alignment")) {
    if (a->type != ValueType::kUint32 || a->i == 0 || (a->i & (a->i - 1)) != 0) {
      return format_error(file_name + ": general.alignment must be a power-of-two uint32");
    }
    f.alignment = uint64_t(a->i);
  } else {
    f.alignment = kDefaultAlignment;
  }

  f.tensors.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    XY_ASSIGN_OR_RETURN(TensorInfo t, read_tensor_info(c, i));
    if (t.offset % f.alignment != 0) {
      return format_error(file_name + ": tensor '" + t.name + "' starts at data offset " +
                          std::to_string(t.offset) + ", not a multiple of the alignment " +
                          std::to_string(f.alignment));
    }
    f.tensors.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment after the header.
  const uint64_t header_end = c.pos();
  f.data_offset = (header_end + f.alignment - 1) / f.alignment * f.alignment;
  if (f.tensors.empty()) return f;
  if (f.data_offset > size) {
    return format_error(file_name + ": truncated: the data section would start at byte " +
                        std::to_string(f.data_offset) + " of a " + std::to_string(size) +
                        "-byte file");
  }
  const uint64_t data_size = size - f.data_offset;
  std::vector<const TensorInfo*> by_offset;
  for (TensorInfo& t : f.tensors) {
    if (t.offset > data_size || t.size > data_size - t.offset) {
      return format_error(file_name + ": truncated: tensor '" + t.name + "' needs bytes [" +
                          std::to_string(t.offset) + ", " + std::to_string(t.offset + t.size) +
                          ") of a " + std::to_string(data_size) + "-byte data section");
    }
    t.data = bytes + f.data_offset + t.offset;
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->name < b->name;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& a = *by_offset[i - 1];
    const TensorInfo& b = *by_offset[i];
    if (a.name == b.name)
      return format_error(file_name + ": tensor '" + a.name + "' appears twice");
    if (b.offset < a.offset + a.size) {
      return format_error(file_name + ": tensors '" + a.name + "' and '" + b.name + "' overlap");
    }
  }
  // Names can repeat at different offsets too.
  std::vector<std::string> names;
  for (const TensorInfo& t : f.tensors) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  if (auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end()) {
    return format_error(file_name + ": tensor '" + *dup + "' appears twice");
  }
  return f;
}

}  // namespace xy::gguf
