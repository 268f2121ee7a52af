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
//            6-bit: 2 sets of 3 vectors of 64 bytes, one set per 16-k half h: byte 4j + t of
//                   vector v (0..2) holds in bits 0..5 the code of k-group 4h + v and in bits
//                   6..7 bits 2v..2v+1 of the code of k-group 4h + 3 (three masks and one
//                   gather of the top bits rebuild the four k-groups' codes);
//   d[16]    f16 scales of the 16 columns;
//   m[16]    f16 minimums (only when has_min()), or, for 6-bit codes, sc[2][16]: the int8 scales
//            of the two 16-k halves of the group (w = d * sc[k / 16] * (c - 32), Q6_K's form).
// So Q4_0, Q8_0 and Q6_K weights keep the file's values exactly, at the file's bytes per weight
// (0.5625 / 1.0625) or close to them (Q6_K: 0.875 against 0.82, the super-block scale repeated
// per 32). Exactness elsewhere: Q4_1, Q5_0, Q5_1 keep the file's values exactly; the K formats'
// per-sub-block scale d*sc and minimum dmin*mn are products rounded to f16 (relative error at most
// 2^-11 of the scale, far inside the 4/5-bit step); Q6_K rows stacked with other formats and
// plain float parts are requantized to 8-bit codes with one scale per 32 (round to nearest; the
// error is at most half a step of 1/127 of the group's largest magnitude).
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
  // 4-bit codes when every part is a 4-bit format, 6-bit codes when every part is Q6_K, else
  // 8-bit; has no minimum when every part is symmetric and, for 4 bits, all share Q4_0's offset.
  // `name` labels errors.
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
  int bits() const { return bits_; }           // 4, 6 or 8
  bool has_min() const { return has_min_; }    // w = d*c - m (else d*(c - code_offset()))
  int code_offset() const { return offset_; }  // 8, 32 or 128 (4/6/8-bit) when !has_min()
  int num_groups() const { return k_ / kQuantGroup; }
  int num_panels() const { return num_panels_; }
  int num_panels_padded() const { return num_panels_padded_; }
  // Bytes of one 32-k block of one panel (codes, then d, then m or the 6-bit sub-scales).
  size_t block_bytes() const { return block_bytes(bits_, has_min_); }
  static constexpr size_t block_bytes(int bits, bool has_min) {
    return extra_offset(bits) + (has_min || bits == 6 ? 32 : 0);
  }
  // Byte offsets in a block (the layout above): the 16 f16 scales d, then the 16 f16 minimums
  // or, for 6-bit codes, the int8 sub-scales of half 0 (16 bytes) and half 1 (16 bytes).
  static constexpr size_t scales_offset(int bits) { return static_cast<size_t>(bits) * 64; }
  static constexpr size_t extra_offset(int bits) { return scales_offset(bits) + 32; }
  size_t panel_bytes() const { return block_bytes() * static_cast<size_t>(num_groups()); }
  const uint8_t* data() const { return buffer_.as<uint8_t>(); }
  size_t bytes() const { return buffer_.size(); }
  bool empty() const { return buffer_.empty(); }
  // A short description for logs: "q4 (min)", "q6", "q8".
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

// The code of input i (0..31) of lane `lane` (0..15) in a packed block of `bits`-bit codes: the
// one definition of the layout above, for the packer's inverse and the scalar kernels.
inline int panel_code(const uint8_t* block, int bits, int i, int lane) {
  const int four = i / 4, t = i % 4;  // k-group of 4 (one vpdpbusd lane) and place in it
  if (bits == 8) return block[four * 64 + 4 * lane + t];
  if (bits == 4) return (block[(four / 2) * 64 + 4 * lane + t] >> (4 * (four % 2))) & 0x0F;
  const uint8_t* set = block + (four / 4) * 192 + 4 * lane + t;  // the 6-bit layout's half
  if (four % 4 < 3) return set[(four % 4) * 64] & 63;
  return (set[0] >> 6) | ((set[64] >> 6) << 2) | ((set[128] >> 6) << 4);
}

}  // namespace xy::cpu
