// write_safetensors: the format exactly as the reference writer lays it out, so files we
// produce load in Hugging Face tooling and files it produces load here.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
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
  std::vector<const TensorToWrite*> sorted;
  for (const TensorToWrite& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorToWrite* a, const TensorToWrite* b) { return a->name < b->name; });

  ordered_json header = ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::vector<uint64_t> sizes;  // bytes, parallel to `sorted`
  uint64_t offset = 0;          // bytes into the data section
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TensorToWrite& t = *sorted[i];
    if (t.name.empty() || t.name == "__metadata__") {
      return invalid_argument("write " + path + ": invalid tensor name '" + t.name + "'");
    }
    if (i > 0 && sorted[i - 1]->name == t.name) {
      return invalid_argument("write " + path + ": tensor '" + t.name + "' given twice");
    }
    XY_ASSIGN_OR_RETURN(const uint64_t bytes, tensor_bytes(t, path));
    if (bytes > 0 && t.data == nullptr) {
      return invalid_argument("write " + path + ": tensor '" + t.name + "' has no data");
    }
    header[t.name] = {{"dtype", dtype_tag(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    sizes.push_back(bytes);
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
  for (size_t i = 0; s.is_ok() && i < sorted.size(); ++i) {
    s = write_all(f, sorted[i]->data, sizes[i], path);
  }
  if (std::fclose(f) != 0 && s.is_ok()) s = io_error("write " + path + ": " + std::strerror(errno));
  if (s.is_ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    s = io_error("write " + path + ": cannot rename " + tmp + ": " + std::strerror(errno));
  }
  if (!s.is_ok()) std::remove(tmp.c_str());
  return s;
}

}  // namespace xy
