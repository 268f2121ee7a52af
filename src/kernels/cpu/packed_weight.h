// Linear-layer weights re-laid once, at load time, into the panels SmoothGEMM's micro-kernels
// stream: the weight W[N, K] (Hugging Face nn.Linear layout) becomes ceil(N/16) panels of 16
// output columns, each panel K-contiguous: panel p holds, for k = 0..K-1, the 16 weights of its
// columns at that k (64 bytes f32 or 32 bytes bf16). A micro-kernel then reads one aligned
// 16-wide vector per k and per panel, sequentially, whatever M is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/aligned_buffer.h"
#include "core/dtype.h"
#include "core/status.h"

namespace xy::cpu {

enum class WeightLayout : uint8_t {
  // y[:, n] = x · W[n, :]. Panel p lane j is column 16p + j.
  kPlain,
  // A fused gate/up weight W[2I, K] = [W_gate; W_up] (rows 0..I-1 gate, I..2I-1 up) whose GEMM
  // ends in y[:, i] = SiLU(gate_i) · up_i with y of width I. Panel p lanes 0..7 are gate
  // columns 8p..8p+7 and lanes 8..15 the matching up columns, so one tile holds both operands
  // of the epilogue and the [M, 2I] intermediate never exists.
  kGateUp,
};

std::string_view weight_layout_name(WeightLayout layout);

// Panel geometry shared by the packer and the micro-kernels.
inline constexpr int kPanelLanes = 16;  // output columns (plain) per panel
// Panels are padded (with zero weights) to a multiple of this, so a kernel spanning up to 4
// panels never reads past the buffer; the padded columns are computed but never stored.
inline constexpr int kPanelGroup = 4;

class PackedWeight {
 public:
  PackedWeight() = default;
  PackedWeight(PackedWeight&&) noexcept = default;
  PackedWeight& operator=(PackedWeight&&) noexcept = default;

  // Packs w[n_rows, k] (row-major, src_dtype f32/bf16/f16) into `storage` (f32 or bf16; f32 and
  // f16 sources are rounded to nearest-even when stored as bf16). `name` only labels errors.
  // Errors: kInvalidArgument for non-positive sizes, a null pointer, an odd n_rows with
  // kGateUp, or an unsupported storage dtype; kResourceExhausted when the buffer cannot be
  // allocated. Single-threaded; the source may be freed afterwards.
  static Result<PackedWeight> pack(const void* w, DType src_dtype, int n_rows, int k, DType storage,
                                   WeightLayout layout = WeightLayout::kPlain,
                                   std::string_view name = "weight");

  int n_rows() const { return n_rows_; }  // rows of the source W (N, or 2I for kGateUp)
  int k() const { return k_; }
  // Columns of the GEMM output: N for kPlain, I = n_rows / 2 for kGateUp.
  int out_cols() const { return layout_ == WeightLayout::kGateUp ? n_rows_ / 2 : n_rows_; }
  DType storage() const { return storage_; }
  WeightLayout layout() const { return layout_; }
  int num_panels() const { return num_panels_; }                // panels holding real columns
  int num_panels_padded() const { return num_panels_padded_; }  // multiple of kPanelGroup
  size_t panel_elems() const { return static_cast<size_t>(k_) * kPanelLanes; }
  const void* data() const { return buffer_.data(); }  // [num_panels_padded, K, 16] storage
  size_t bytes() const { return buffer_.size(); }
  bool empty() const { return buffer_.empty(); }

 private:
  AlignedBuffer buffer_;
  int n_rows_ = 0;
  int k_ = 0;
  int num_panels_ = 0;
  int num_panels_padded_ = 0;
  DType storage_ = DType::kF32;
  WeightLayout layout_ = WeightLayout::kPlain;
};

// Position of logical lane `lane` (0..15) inside a bf16 panel row. Lanes are interleaved
// (0,8,1,9,...) so that, read as 8 u32 words, `word << 16` yields lanes 0..7 and
// `word & 0xffff0000` yields lanes 8..15: bf16 -> f32 widening costs one shift or one and.
constexpr int bf16_panel_position(int lane) {
  return lane < 8 ? 2 * lane : 2 * (lane - 8) + 1;
}

}  // namespace xy::cpu
