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

// The blocks of row `row` of `part` (k elements).
const uint8_t* source_row(const QuantSource& part, int row, int k) {
  return static_cast<const uint8_t*>(part.data) +
         static_cast<size_t>(row) * ref::block_format_row_bytes(part.format, k);
}

// The code form of one source row: the format's own where it has one, else (Q6_K, plain floats)
// 8-bit symmetric codes with one f16 scale per 32, rounded to nearest.
void decode_row(const QuantSource& part, int row, int k, std::vector<float>& scratch,
                CodeGroup* groups) {
  const uint8_t* src = source_row(part, row, k);
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

// Writes `code` as input i (0..31) of panel lane `lane` into a zeroed block: the inverse of
// panel_code (quant_weight.h).
void put_code(uint8_t* block, int bits, int i, int lane, int code) {
  const int four = i / 4, t = i % 4;
  if (bits == 8) {
    block[four * 64 + 4 * lane + t] = uint8_t(code);
    return;
  }
  if (bits == 4) {
    block[(four / 2) * 64 + 4 * lane + t] |= uint8_t(code << (4 * (four % 2)));
    return;
  }
  uint8_t* set = block + (four / 4) * 192 + 4 * lane + t;
  if (four % 4 < 3) {
    set[(four % 4) * 64] |= uint8_t(code);
    return;
  }
  for (int v = 0; v < 3; ++v) set[64 * v] |= uint8_t(((code >> (2 * v)) & 3) << 6);
}

// Byte offsets in a block of lane `lane`'s f16 scale, f16 minimum and (6-bit) int8 sub-scale of
// half h (0, 1).
size_t scale_offset(int bits, int lane) {
  return QuantWeight::scales_offset(bits) + 2 * static_cast<size_t>(lane);
}
size_t min_offset(int bits, int lane) {
  return QuantWeight::extra_offset(bits) + 2 * static_cast<size_t>(lane);
}
size_t sub_scale_offset(int lane, int half) {
  return QuantWeight::extra_offset(6) + static_cast<size_t>(16 * half + lane);
}

bool fits_f16(float v) {
  return std::isfinite(v) && std::fabs(v) <= 65504.0f;
}

}  // namespace

std::string_view QuantWeight::format_name() const {
  if (bits_ == 4) return has_min_ ? "q4 (min)" : "q4";
  if (bits_ == 6) return "q6";
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
  bool all_4bit = true, all_q6_k = true, any_min = false, all_offset_8 = true;
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
    all_q6_k = all_q6_k && part.format == BlockFormat::kQ6_K;
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
  w.bits_ = all_4bit ? 4 : all_q6_k ? 6 : 8;
  w.has_min_ = any_min || (all_4bit && !all_offset_8);
  w.offset_ = w.bits_ == 4 ? 8 : w.bits_ == 6 ? 32 : 128;
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
  std::vector<ref::Q6Group> q6_groups(w.bits_ == 6 ? static_cast<size_t>(groups) : 0);
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
      uint8_t* panel = out + static_cast<size_t>(p) * w.panel_bytes();
      if (w.bits_ == 6) {
        // Q6_K as stored: codes, the super-block's f16 scale and the two sub-block scales.
        const uint8_t* src = source_row(*part, local, k);
        const ref::BlockFormatInfo* info = ref::block_format_info(uint32_t(BlockFormat::kQ6_K));
        for (int b = 0; b < k / info->block_elems; ++b) {
          ref::decode_q6_k_groups(src + static_cast<size_t>(b) * info->block_bytes,
                                  &q6_groups[static_cast<size_t>(8 * b)]);
        }
        for (int g = 0; g < groups; ++g) {
          const ref::Q6Group& qg = q6_groups[static_cast<size_t>(g)];
          uint8_t* blk = panel + static_cast<size_t>(g) * block;
          for (int i = 0; i < kQuantGroup; ++i) put_code(blk, 6, i, lane, qg.code[i]);
          std::memcpy(blk + scale_offset(6, lane), &qg.d, 2);
          std::memcpy(blk + sub_scale_offset(lane, 0), &qg.sc[0], 1);
          std::memcpy(blk + sub_scale_offset(lane, 1), &qg.sc[1], 1);
        }
        continue;
      }
      decode_row(*part, local, k, scratch, row_groups.data());
      const bool part_min = has_minimum(part->format);
      for (int g = 0; g < groups; ++g) {
        const CodeGroup& cg = row_groups[static_cast<size_t>(g)];
        uint8_t* blk = panel + static_cast<size_t>(g) * block;
        // Symmetric sources move to the packed offset (c - o == (c + 128 - o) - 128); with a
        // minimum, a symmetric source's m is offset * d (exact: the offsets are powers of two).
        const int shift = (!w.has_min_ && !part_min) ? w.offset_ - cg.offset : 0;
        const float m = part_min ? cg.m : float(cg.offset) * cg.d;
        if (!fits_f16(cg.d) || (w.has_min_ && !fits_f16(m))) {
          return invalid_argument(label + ": row " + std::to_string(row) +
                                  " has a scale outside the f16 range");
        }
        // The buffer starts zeroed.
        for (int i = 0; i < kQuantGroup; ++i) put_code(blk, w.bits_, i, lane, cg.code[i] + shift);
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
      const int code = panel_code(blk, bits_, i, lane);
      float value;
      if (bits_ == 6) {
        const auto sc = static_cast<int8_t>(blk[sub_scale_offset(lane, i / 16)]);
        value = d * float(sc) * float(code - offset_);  // Q6_K's product, exact in f32
      } else {
        value = has_min_ ? d * float(code) - m : d * float(code - offset_);
      }
      out[g * kQuantGroup + i] = value;
    }
  }
}

}  // namespace xy::cpu
