#include "kernels/cpu/quant_weight.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace xy::cpu {

namespace {

using ref::BlockFormat;
using ref::CodeGroup;

bool has_minimum(BlockFormat f) {
  return f == BlockFormat::kQ4_1 || f == BlockFormat::kQ5_1 || f == BlockFormat::kQ4_K ||
         f == BlockFormat::kQ5_K;
}

// The code form of one source row: the format's own where it has one, else (Q6_K, plain floats)
// 8-bit symmetric codes with one f16 scale per 32, rounded to nearest.
void decode_row(const QuantSource& part, int row, int k, std::vector<float>& scratch,
                CodeGroup* groups) {
  const size_t row_bytes = ref::block_format_row_bytes(part.format, k);
  const auto* src = static_cast<const uint8_t*>(part.data) + static_cast<size_t>(row) * row_bytes;
  if (ref::code_bits(part.format) > 0) {
    const ref::BlockFormatInfo* info = ref::block_format_info(uint32_t(part.format));
    for (int b = 0, g = 0; b < k / info->block_elems; ++b) {
      g += ref::decode_code_groups(part.format, src + static_cast<size_t>(b) * info->block_bytes,
                                   groups + g);
    }
    return;
  }
  scratch.resize(static_cast<size_t>(k));
  ref::dequantize_row(part.format, src, scratch.data(), k);
  for (int g = 0; g < k / kQuantGroup; ++g) {
    const float* x = scratch.data() + static_cast<size_t>(g) * kQuantGroup;
    float amax = 0.0f;
    for (int i = 0; i < kQuantGroup; ++i) amax = std::max(amax, std::fabs(x[i]));
    // The codes are computed against the scale as stored (f16), so d*(c-128) is the nearest.
    const float d = f16_to_f32(f32_to_f16(amax / 127.0f));
    CodeGroup& out = groups[g];
    out.d = d;
    out.offset = 128;
    for (int i = 0; i < kQuantGroup; ++i) {
      const float q = d > 0.0f ? std::nearbyint(x[i] / d) : 0.0f;
      out.code[i] = uint8_t(int(std::clamp(q, -127.0f, 127.0f)) + 128);
    }
  }
}

// Where input i (0..31) of panel lane `lane` sits in a block's codes: its byte and, for 4-bit
// codes, the nibble's shift (the layout of quant_weight.h, for both the packer and its inverse).
struct CodeSlot {
  int byte, shift;
};
CodeSlot code_slot(int bits, int i, int lane) {
  const int four = i / 4, t = i % 4;  // k-group of 4 (one vpdpbusd lane) and place in it
  if (bits == 8) return {four * 64 + 4 * lane + t, 0};
  return {(four / 2) * 64 + 4 * lane + t, 4 * (four % 2)};
}

// Byte offsets in a block of the f16 scales and minimums of the 16 lanes.
size_t scale_offset(int bits, int lane) {
  return static_cast<size_t>(bits) * 64 + 2 * static_cast<size_t>(lane);
}
size_t min_offset(int bits, int lane) {
  return scale_offset(bits, lane) + 32;
}

bool fits_f16(float v) {
  return std::isfinite(v) && std::fabs(v) <= 65504.0f;
}

}  // namespace

std::string_view QuantWeight::format_name() const {
  if (bits_ == 4) return has_min_ ? "q4 (min)" : "q4";
  return has_min_ ? "q8 (min)" : "q8";
}

Result<QuantWeight> QuantWeight::pack(std::span<const QuantSource> parts, int k,
                                      WeightLayout layout, std::string_view name) {
  const std::string label(name);
  if (parts.empty()) return invalid_argument(label + ": no rows to pack");
  if (k <= 0 || k % kQuantGroup != 0) {
    return invalid_argument(label + ": inner size " + std::to_string(k) +
                            " is not a positive multiple of 32, which quantized GEMM needs");
  }
  int n_rows = 0;
  bool all_4bit = true, any_min = false, all_offset_8 = true;
  for (const QuantSource& part : parts) {
    const ref::BlockFormatInfo* info = ref::block_format_info(uint32_t(part.format));
    if (part.data == nullptr || part.rows <= 0 || info == nullptr || !info->dequantizable) {
      return invalid_argument(label + ": a part has no data, no rows or an unreadable format");
    }
    if (k % info->block_elems != 0) {
      return invalid_argument(label + ": inner size " + std::to_string(k) +
                              " is not a multiple of the " + std::string(info->name) +
                              " block length");
    }
    n_rows += part.rows;
    all_4bit = all_4bit && ref::code_bits(part.format) == 4;
    any_min = any_min || has_minimum(part.format);
    all_offset_8 = all_offset_8 && part.format == BlockFormat::kQ4_0;
  }
  if (layout == WeightLayout::kGateUp && n_rows % 2 != 0) {
    return invalid_argument(label + ": gate/up weight with an odd row count");
  }

  QuantWeight w;
  w.n_rows_ = n_rows;
  w.k_ = k;
  w.layout_ = layout;
  w.bits_ = all_4bit ? 4 : 8;
  w.has_min_ = any_min || (all_4bit && !all_offset_8);
  w.offset_ = w.bits_ == 4 ? 8 : 128;
  const int lanes_per_panel = layout == WeightLayout::kGateUp ? 8 : kPanelLanes;
  w.num_panels_ = (w.out_cols() + lanes_per_panel - 1) / lanes_per_panel;
  w.num_panels_padded_ = (w.num_panels_ + kPanelGroup - 1) / kPanelGroup * kPanelGroup;
  try {
    w.buffer_ = AlignedBuffer(w.panel_bytes() * static_cast<size_t>(w.num_panels_padded_));
  } catch (const std::bad_alloc&) {
    return resource_exhausted(label + ": out of memory for the quantized panels");
  }

  const int groups = w.num_groups();
  const size_t block = w.block_bytes();
  std::vector<CodeGroup> row_groups(static_cast<size_t>(groups));
  std::vector<float> scratch;
  uint8_t* out = w.buffer_.as<uint8_t>();
  for (int p = 0; p < w.num_panels_; ++p) {
    for (int lane = 0; lane < kPanelLanes; ++lane) {
      // The source row feeding this lane (see WeightLayout), or none: padding stays zero.
      int row;
      if (layout == WeightLayout::kGateUp) {
        const int col = 8 * p + lane % 8;
        if (col >= w.out_cols()) continue;
        row = lane < 8 ? col : w.out_cols() + col;
      } else {
        row = kPanelLanes * p + lane;
        if (row >= n_rows) continue;
      }
      int local = row;
      const QuantSource* part = parts.data();
      while (local >= part->rows) local -= (part++)->rows;
      decode_row(*part, local, k, scratch, row_groups.data());
      const bool part_min = has_minimum(part->format);
      for (int g = 0; g < groups; ++g) {
        const CodeGroup& cg = row_groups[static_cast<size_t>(g)];
        uint8_t* blk =
            out + static_cast<size_t>(p) * w.panel_bytes() + static_cast<size_t>(g) * block;
        // Symmetric sources move to the packed offset (c - o == (c + 128 - o) - 128); with a
        // minimum, a symmetric source's m is offset * d (exact: the offsets are powers of two).
        const int shift = (!w.has_min_ && !part_min) ? w.offset_ - cg.offset : 0;
        const float m = part_min ? cg.m : float(cg.offset) * cg.d;
        if (!fits_f16(cg.d) || (w.has_min_ && !fits_f16(m))) {
          return invalid_argument(label + ": row " + std::to_string(row) +
                                  " has a scale outside the f16 range");
        }
        for (int i = 0; i < kQuantGroup; ++i) {
          const CodeSlot at = code_slot(w.bits_, i, lane);
          blk[at.byte] |= uint8_t((cg.code[i] + shift) << at.shift);  // the buffer starts zeroed
        }
        const uint16_t d16 = f32_to_f16(cg.d);
        std::memcpy(blk + scale_offset(w.bits_, lane), &d16, 2);
        if (w.has_min_) {
          const uint16_t m16 = f32_to_f16(m);
          std::memcpy(blk + min_offset(w.bits_, lane), &m16, 2);
        }
      }
    }
  }
  return w;
}

void QuantWeight::dequantize_row(int row, float* out) const {
  int p, lane;
  if (layout_ == WeightLayout::kGateUp) {
    const int col = row % out_cols();
    p = col / 8;
    lane = col % 8 + (row >= out_cols() ? 8 : 0);
  } else {
    p = row / kPanelLanes;
    lane = row % kPanelLanes;
  }
  for (int g = 0; g < num_groups(); ++g) {
    const uint8_t* blk =
        data() + static_cast<size_t>(p) * panel_bytes() + static_cast<size_t>(g) * block_bytes();
    uint16_t d16, m16 = 0;
    std::memcpy(&d16, blk + scale_offset(bits_, lane), 2);
    if (has_min_) std::memcpy(&m16, blk + min_offset(bits_, lane), 2);
    const float d = f16_to_f32(d16), m = f16_to_f32(m16);
    for (int i = 0; i < kQuantGroup; ++i) {
      const CodeSlot at = code_slot(bits_, i, lane);
      const int code = (blk[at.byte] >> at.shift) & (bits_ == 8 ? 0xFF : 0x0F);
      out[g * kQuantGroup + i] = has_min_ ? d * float(code) - m : d * float(code - offset_);
    }
  }
}

}  // namespace xy::cpu
