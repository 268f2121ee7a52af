// Linear-layer weights in the engine's own integer panels, repacked once at load from the blocks
// of a GGUF file (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K) or quantized from plain floats.
// QuantGEMM (quant_gemm.h) streams them with vpdpbusd.
//
// Every weight is an unsigned code c with a scale d (and, for formats with a minimum, an offset m)
// per 32 consecutive k of one output column:  w = d * (c - offset)  or  w = d * c - m.
// As in PackedWeight, the N columns are cut into panels of 16 (gate/up interleaved 8 + 8 for
// kGateUp), and a panel is one stream over k, block of 32 k after block:
//   codes    8-bit: 8 vectors of 64 bytes, vector g holding, at byte 4j + t, the code of column j
//                   at k = 32b + 4g + t (the operand layout of vpdpbusd: 4 k per 32-bit lane);
//            4-bit: 4 vectors of 64 bytes, vector h holding in its low nibbles the codes of
//                   k-group 2h and in its high nibbles those of k-group 2h + 1;
//   d[16]    f16 scales of the 16 columns;
//   m[16]    f16 minimums (only when has_min()).
// So a Q4_0 or Q8_0 weight keeps the file's bytes per weight (0.5625 / 1.0625) and its values
// exactly. Exactness elsewhere: Q4_1, Q5_0, Q5_1 keep the file's values exactly; the K formats'
// per-sub-block scale d*sc and minimum dmin*mn are products rounded to f16 (relative error at most
// 2^-11 of the scale, far inside the 4/5-bit step); Q6_K (16-element sub-blocks) and plain float
// parts are requantized to 8-bit codes with one scale per 32 (round to nearest; the error is at
// most half a step of 1/127 of the group's largest magnitude).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/aligned_buffer.h"
#include "core/dtype.h"
#include "core/status.h"
#include "kernels/cpu/packed_weight.h"
#include "kernels/reference/quant_blocks.h"

namespace xy::cpu {

inline constexpr int kQuantGroup = 32;  // k per scale

// One stacked part of a weight: `rows` rows of `k` elements, each row the blocks of `format`
// (row stride block_format_row_bytes(format, k)); F32/F16/BF16 rows are plain arrays.
struct QuantSource {
  const void* data = nullptr;
  ref::BlockFormat format = ref::BlockFormat::kF32;
  int rows = 0;
};

class QuantWeight {
 public:
  QuantWeight() = default;
  QuantWeight(QuantWeight&&) noexcept = default;
  QuantWeight& operator=(QuantWeight&&) noexcept = default;

  // Packs the row-wise concatenation of `parts` (all with k columns; k a multiple of 32) for
  // `layout` (kGateUp: the first half of the rows are gate, the rest up). The packed form uses
  // 4-bit codes when every part is a 4-bit format, else 8-bit; has no minimum when every part is
  // symmetric and, for 4 bits, all share Q4_0's offset. `name` labels errors.
  // Errors: kInvalidArgument for bad sizes, a k not a multiple of 32, a format with no reader,
  // an odd row count with kGateUp, or a scale outside f16's range; kResourceExhausted when the
  // buffer cannot be allocated.
  static Result<QuantWeight> pack(std::span<const QuantSource> parts, int k,
                                  WeightLayout layout = WeightLayout::kPlain,
                                  std::string_view name = "weight");

  int n_rows() const { return n_rows_; }
  int k() const { return k_; }
  int out_cols() const { return layout_ == WeightLayout::kGateUp ? n_rows_ / 2 : n_rows_; }
  WeightLayout layout() const { return layout_; }
  int bits() const { return bits_; }           // 4 or 8
  bool has_min() const { return has_min_; }    // w = d*c - m (else d*(c - code_offset()))
  int code_offset() const { return offset_; }  // 8 (4-bit) or 128 (8-bit) when !has_min()
  int num_groups() const { return k_ / kQuantGroup; }
  int num_panels() const { return num_panels_; }
  int num_panels_padded() const { return num_panels_padded_; }
  // Bytes of one 32-k block of one panel (codes, then d, then m when has_min()).
  size_t block_bytes() const { return block_bytes(bits_, has_min_); }
  static constexpr size_t block_bytes(int bits, bool has_min) {
    return static_cast<size_t>(bits) * 64 + 32 + (has_min ? 32 : 0);
  }
  size_t panel_bytes() const { return block_bytes() * static_cast<size_t>(num_groups()); }
  const uint8_t* data() const { return buffer_.as<uint8_t>(); }
  size_t bytes() const { return buffer_.size(); }
  bool empty() const { return buffer_.empty(); }
  // A short description for logs: "q4 (min)", "q8".
  std::string_view format_name() const;

  // The weight the packed form encodes, as floats: w[row, kk] for source row `row` (the
  // reference of the kernels' tests).
  void dequantize_row(int row, float* out) const;

 private:
  AlignedBuffer buffer_;
  int n_rows_ = 0;
  int k_ = 0;
  int num_panels_ = 0;
  int num_panels_padded_ = 0;
  int bits_ = 8;
  bool has_min_ = false;
  int offset_ = 128;
  WeightLayout layout_ = WeightLayout::kPlain;
};

}  // namespace xy::cpu
