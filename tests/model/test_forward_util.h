// Helpers shared by the forward-pass tests: scratch directories and edited copies of the
// reference-logits checkpoints (a tensor dropped, reshaped or stored in another dtype).
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "model/safetensors.h"

namespace xy::testing {

inline const std::string kFixtures = std::string(XY_TESTDATA_DIR) + "/reference-logits/";

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("xy_fwd_" + std::to_string(getpid()) + "_" + std::to_string(counter++)))
                .string();
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One tensor of an edited checkpoint; owns its bytes.
struct EditableTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// Copies fixture `model` into `out_dir` (config.json + model.safetensors), letting `edit` change
// the tensor list first. Returns false (with a gtest failure) when the copy cannot be made.
inline bool write_edited_fixture(const std::string& model, const std::string& out_dir,
                                 const std::function<void(std::vector<EditableTensor>&)>& edit) {
  auto archive = SafetensorsArchive::open_dir(kFixtures + model);
  if (!archive.is_ok()) {
    ADD_FAILURE() << archive.status().to_string();
    return false;
  }
  std::vector<EditableTensor> tensors;
  for (const auto& [name, info] : archive.value()->tensors()) {
    const auto* p = static_cast<const uint8_t*>(info.data);
    tensors.push_back({name, info.dtype, info.shape, std::vector<uint8_t>(p, p + info.num_bytes)});
  }
  edit(tensors);
  std::vector<TensorToWrite> to_write;
  for (const EditableTensor& t : tensors)
    to_write.push_back({t.name, t.dtype, t.shape, t.bytes.data()});
  const Status st = write_safetensors(out_dir + "/model.safetensors", to_write);
  if (!st.is_ok()) {
    ADD_FAILURE() << st.to_string();
    return false;
  }
  std::filesystem::copy_file(kFixtures + model + "/config.json", out_dir + "/config.json",
                             std::filesystem::copy_options::overwrite_existing);
  return true;
}

// Converts an f32 tensor's payload to `dtype` in place.
inline void convert_tensor(EditableTensor& t, DType dtype) {
  const size_t n = t.bytes.size() / dtype_size(t.dtype);
  std::vector<float> f(n);
  convert_to_f32(t.dtype, t.bytes.data(), f.data(), n);
  t.bytes.assign(n * dtype_size(dtype), 0);
  convert_from_f32(dtype, f.data(), t.bytes.data(), n);
  t.dtype = dtype;
}

}  // namespace xy::testing
