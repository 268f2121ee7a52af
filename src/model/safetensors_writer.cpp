// write_safetensors: the format exactly as the reference writer lays it out, so files we
// produce load in Hugging Face tooling and files it produces load here.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "model/safetensors.h"

namespace xy {

namespace {

using ordered_json = nlohmann::ordered_json;

// Bytes of one tensor, or an error naming it when its shape is invalid or too large.
Result<uint64_t> tensor_bytes(const TensorToWrite& t, const std::string& path) {
  uint64_t n = dtype_size(t.dtype);
  for (int64_t d : t.shape) {
    if (d < 0) {
      return invalid_argument("write " + path + ": tensor '" + t.name +
                              "' has a negative dimension " + std::to_string(d));
    }
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n) ||
        n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return invalid_argument("write " + path + ": tensor '" + t.name + "' is too large");
    }
  }
  return n;
}

const char* dtype_tag(DType t) {
  switch (t) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    case DType::kI8:
      return "I8";
  }
  return "F32";
}

Status write_all(std::FILE* f, const void* data, size_t n, const std::string& path) {
  if (n > 0 && std::fwrite(data, 1, n, f) != n) {
    return io_error("write " + path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace

Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors) {
  std::vector<const TensorToWrite*> by_name;
  for (const TensorToWrite& t : tensors) by_name.push_back(&t);
  std::sort(by_name.begin(), by_name.end(),
            [](const TensorToWrite* a, const TensorToWrite* b) { return a->name < b->name; });
  std::map<const TensorToWrite*, uint64_t> bytes;  // validated size of each tensor
  for (size_t i = 0; i < by_name.size(); ++i) {
    const TensorToWrite& t = *by_name[i];
    if (t.name.empty() || t.name == "__metadata__") {
      return invalid_argument("write " + path + ": invalid tensor name '" + t.name + "'");
    }
    if (i > 0 && by_name[i - 1]->name == t.name) {
      return invalid_argument("write " + path + ": tensor '" + t.name + "' given twice");
    }
    XY_ASSIGN_OR_RETURN(bytes[&t], tensor_bytes(t, path));
    if (bytes[&t] > 0 && t.data == nullptr) {
      return invalid_argument("write " + path + ": tensor '" + t.name + "' has no data");
    }
  }

  // Data order: widest elements first, then by name (as the reference writer does), so with an
  // 8-byte aligned data section every tensor starts aligned to its element size.
  std::vector<const TensorToWrite*> data_order = by_name;
  std::stable_sort(data_order.begin(), data_order.end(),
                   [](const TensorToWrite* a, const TensorToWrite* b) {
                     return dtype_size(a->dtype) > dtype_size(b->dtype);
                   });
  std::map<const TensorToWrite*, uint64_t> begin;  // bytes into the data section
  uint64_t offset = 0;
  for (const TensorToWrite* t : data_order) {
    begin[t] = offset;
    if (__builtin_add_overflow(offset, bytes[t], &offset)) {
      return invalid_argument("write " + path + ": tensors total more than 2^64 bytes");
    }
  }

  // Header keys sorted by name, after the metadata.
  ordered_json header = ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  for (const TensorToWrite* t : by_name) {
    header[t->name] = {{"dtype", dtype_tag(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {begin[t], begin[t] + bytes[t]}}};
  }

  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // tensor names that are not UTF-8
    return invalid_argument("write " + path + ": " + e.what());
  }
  // The spec allows trailing spaces; padding to 8 bytes keeps the data section aligned for
  // every dtype once the file is mapped.
  header_text.append((8 - (8 + header_text.size()) % 8) % 8, ' ');

  // Write beside the target and rename, so a crash never leaves a truncated checkpoint.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr)
    return io_error("write " + path + ": cannot create " + tmp + ": " + std::strerror(errno));
  uint8_t len_bytes[8];
  uint64_t len = header_text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(len >> (8 * i));  // little-endian
  Status s = write_all(f, len_bytes, 8, path);
  if (s.is_ok()) s = write_all(f, header_text.data(), header_text.size(), path);
  for (size_t i = 0; s.is_ok() && i < data_order.size(); ++i) {
    s = write_all(f, data_order[i]->data, bytes[data_order[i]], path);
  }
  if (std::fclose(f) != 0 && s.is_ok()) s = io_error("write " + path + ": " + std::strerror(errno));
  if (s.is_ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    s = io_error("write " + path + ": cannot rename " + tmp + ": " + std::strerror(errno));
  }
  if (!s.is_ok()) std::remove(tmp.c_str());
  return s;
}

}  // namespace xy
