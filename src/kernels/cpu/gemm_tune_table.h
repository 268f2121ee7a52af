// Tuned SmoothGEMM configs per (weight shape, M bucket), written by `xyserve tune` (see
// gemm_tuner.h) and read at start. JSON on disk:
//   {"format": "xyserve-gemm-tune", "version": 1, "isa": "avx2", "threads": 2,
//    "entries": [{"n": 960, "k": 576, "dtype": "bf16", "layout": "plain",
//                 "m_max": 16, "mr": 6, "np": 1, "m_block": 18, "kc": 0}, ...]}
// ("kc" may be absent: 0.)
// An entry covers M in (previous m_max of the same shape, m_max]; M above the largest m_max
// uses the largest entry. Shapes without entries use default_gemm_config().
#pragma once

#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "kernels/cpu/gemm_tile_config.h"
#include "kernels/cpu/packed_weight.h"

namespace xy::cpu {

struct GemmShapeKey {
  int n_rows = 0;  // rows of the source weight (N, or 2I for gate-up)
  int k = 0;
  DType storage = DType::kBF16;
  WeightLayout layout = WeightLayout::kPlain;
  bool operator==(const GemmShapeKey&) const = default;
};

struct GemmTuneEntry {
  GemmShapeKey shape;
  int m_max = 1;  // this config serves M up to m_max
  GemmTileConfig config;
};

class GemmTuneTable {
 public:
  std::string isa;  // the ISA the table was measured on (gemm_isa_name: "avx512", "avx2", ...)
  int threads = 0;  // workers it was measured with
  std::vector<GemmTuneEntry> entries;

  // The tuned config for (shape, m), or nullptr when the shape has no entry.
  const GemmTileConfig* find(const GemmShapeKey& shape, int m) const;

  std::string to_json() const;  // pretty-printed, entries in stored order
  // Errors: kFormatError naming `source` and the offending key / entry index.
  static Result<GemmTuneTable> from_json(const std::string& text,
                                         const std::string& source = "<string>");
  // Errors: kNotFound / kIoError naming the path; from_json's errors.
  static Result<GemmTuneTable> load(const std::string& path);
  // Writes atomically (temp file + rename). Errors: kIoError naming the path.
  Status save(const std::string& path) const;
};

}  // namespace xy::cpu
