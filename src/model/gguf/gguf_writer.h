// Writes GGUF version 3 files (see gguf_file.h for the layout): metadata in insertion order,
// tensor infos, then each tensor's bytes at the file's alignment. Used by tests to build files
// (valid and corrupt ones) and by the quantizer to write models llama.cpp can load.
//
// Not thread-safe; build one file per writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/gguf/gguf_file.h"

namespace xy::gguf {

class Writer {
 public:
  explicit Writer(uint32_t alignment = 32);  // written as general.alignment when not 32

  void add_uint32(const std::string& key, uint32_t v);
  void add_int32(const std::string& key, int32_t v);
  void add_uint64(const std::string& key, uint64_t v);
  void add_float32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_string_array(const std::string& key, const std::vector<std::string>& v);
  void add_int32_array(const std::string& key, const std::vector<int32_t>& v);
  void add_float32_array(const std::string& key, const std::vector<float>& v);

  // dims in GGUF order (dims[0] contiguous); `data` must be exactly the type's size for them.
  void add_tensor(const std::string& name, const std::vector<int64_t>& dims, uint32_t ggml_type,
                  std::vector<uint8_t> data);

  // The whole file image.
  std::vector<uint8_t> bytes() const;
  // bytes() to `path`; kIoError naming the path on failure.
  Status write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    uint32_t ggml_type;
    std::vector<uint8_t> data;
  };
  void key(const std::string& k, ValueType t);

  uint32_t alignment_;
  uint64_t n_kv_ = 0;
  std::vector<uint8_t> kv_;  // serialized key-value pairs
  std::vector<Tensor> tensors_;
};

}  // namespace xy::gguf
