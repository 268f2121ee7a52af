// Safetensors checkpoints (single file or sharded through model.safetensors.index.json),
// memory-mapped read-only and validated before any tensor is handed out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "kernels/reference/quant_blocks.h"

namespace xy {

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // points into the mapping; valid while the owning archive lives
  // Set for a GGUF matrix kept in its file's block format: `data` is then rows of blocks
  // (block_format_row_bytes(*blocks, cols) each, in Hugging Face row order) and `dtype` unused.
  std::optional<ref::BlockFormat> blocks;
  size_t num_bytes = 0;
  std::string file;  // file name the tensor came from (for error messages)

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// All tensors of one checkpoint directory. Read-only after open; safe to share across threads.
class SafetensorsArchive {
 public:
  // Opens <dir>/model.safetensors.index.json if present (all shards), else <dir>/model.safetensors.
  static Result<std::unique_ptr<SafetensorsArchive>> open_dir(const std::string& dir);
  // Opens one .safetensors file.
  static Result<std::unique_ptr<SafetensorsArchive>> open_file(const std::string& path);

  virtual ~SafetensorsArchive() = default;
  // nullptr when absent.
  virtual const TensorInfo* find(const std::string& name) const = 0;
  virtual const std::map<std::string, TensorInfo>& tensors() const = 0;
};

// Validates a safetensors header (the JSON after the 8-byte length) against the size of the
// data section: known dtypes, shapes non-negative, byte size == numel * dtype size, offsets
// inside the data and non-overlapping. Pure function of its inputs (fuzzed).
Result<std::vector<TensorInfo>> parse_safetensors_header(const std::string& header_json,
                                                         uint64_t data_size,
                                                         const std::string& file_name);

// Writes tensors to a .safetensors file (sorted by name, "__metadata__": {"format": "pt"}).
struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // numel * dtype_size bytes
};
Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors);

}  // namespace xy
