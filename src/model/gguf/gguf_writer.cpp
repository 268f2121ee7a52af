#include "model/gguf/gguf_writer.h"

#include <cstdio>
#include <cstring>

#include "core/check.h"
#include "kernels/reference/quant_blocks.h"

namespace xy::gguf {
namespace {

template <class T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void pad_to(std::vector<uint8_t>& out, uint64_t alignment) {
  out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
}

}  // namespace

Writer::Writer(uint32_t alignment) : alignment_(alignment) {
  XY_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0);
  if (alignment != 32) add_uint32("general.alignment", alignment);
}

void Writer::key(const std::string& k, ValueType t) {
  put_string(kv_, k);
  put<uint32_t>(kv_, uint32_t(t));
  ++n_kv_;
}

void Writer::add_uint32(const std::string& k, uint32_t v) {
  key(k, ValueType::kUint32);
  put(kv_, v);
}
void Writer::add_int32(const std::string& k, int32_t v) {
  key(k, ValueType::kInt32);
  put(kv_, v);
}
void Writer::add_uint64(const std::string& k, uint64_t v) {
  key(k, ValueType::kUint64);
  put(kv_, v);
}
void Writer::add_float32(const std::string& k, float v) {
  key(k, ValueType::kFloat32);
  put(kv_, v);
}
void Writer::add_bool(const std::string& k, bool v) {
  key(k, ValueType::kBool);
  put<uint8_t>(kv_, v ? 1 : 0);
}
void Writer::add_string(const std::string& k, const std::string& v) {
  key(k, ValueType::kString);
  put_string(kv_, v);
}
void Writer::add_string_array(const std::string& k, const std::vector<std::string>& v) {
  key(k, ValueType::kArray);
  put<uint32_t>(kv_, uint32_t(ValueType::kString));
  put<uint64_t>(kv_, v.size());
  for (const std::string& s : v) put_string(kv_, s);
}
void Writer::add_int32_array(const std::string& k, const std::vector<int32_t>& v) {
  key(k, ValueType::kArray);
  put<uint32_t>(kv_, uint32_t(ValueType::kInt32));
  put<uint64_t>(kv_, v.size());
  for (int32_t x : v) put(kv_, x);
}
void Writer::add_float32_array(const std::string& k, const std::vector<float>& v) {
  key(k, ValueType::kArray);
  put<uint32_t>(kv_, uint32_t(ValueType::kFloat32));
  put<uint64_t>(kv_, v.size());
  for (float x : v) put(kv_, x);
}

void Writer::add_tensor(const std::string& name, const std::vector<int64_t>& dims,
                        uint32_t ggml_type, std::vector<uint8_t> data) {
  const ref::BlockFormatInfo* info = ref::block_format_info(ggml_type);
  XY_CHECK(info != nullptr && !dims.empty() && dims[0] % info->block_elems == 0);
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  XY_CHECK(data.size() == size_t(n / info->block_elems) * size_t(info->block_bytes));
  tensors_.push_back({name, dims, ggml_type, std::move(data)});
}

std::vector<uint8_t> Writer::bytes() const {
  std::vector<uint8_t> out;
  put<uint32_t>(out, 0x46554747);  // "GGUF"
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, n_kv_);
  out.insert(out.end(), kv_.begin(), kv_.end());
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_string(out, t.name);
    put<uint32_t>(out, uint32_t(t.dims.size()));
    for (int64_t d : t.dims) put<uint64_t>(out, uint64_t(d));
    put<uint32_t>(out, t.ggml_type);
    put<uint64_t>(out, offset);
    offset = (offset + t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  pad_to(out, alignment_);
  const size_t data_start = out.size();
  for (const Tensor& t : tensors_) {
    out.insert(out.end(), t.data.begin(), t.data.end());
    // Every tensor, the last one too, is padded to the alignment, as llama.cpp's writer does (its
    // reader then reads whole padded sizes).
    const size_t rel = out.size() - data_start;
    out.resize(data_start + (rel + alignment_ - 1) / alignment_ * alignment_, 0);
  }
  return out;
}

Status Writer::write(const std::string& path) const {
  const std::vector<uint8_t> b = bytes();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return io_error(path + ": cannot open for writing");
  const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
  if (std::fclose(f) != 0 || !ok) return io_error(path + ": write failed");
  return Status::ok();
}

}  // namespace xy::gguf
