#include "kernels/reference/quant_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/dtype.h"

namespace xy::ref {
namespace {

constexpr int kQK = 32;    // elements per block of the 32-element formats
constexpr int kQKK = 256;  // elements per super-block of the K formats

float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

void dequantize_q8_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const auto* q = reinterpret_cast<const int8_t*>(b + 2);
  for (int i = 0; i < kQK; ++i) y[i] = d * float(q[i]);
}

void dequantize_q4_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const uint8_t* qs = b + 2;
  for (int i = 0; i < kQK / 2; ++i) {
    y[i] = d * float(int(qs[i] & 0x0F) - 8);
    y[i + kQK / 2] = d * float(int(qs[i] >> 4) - 8);
  }
}

void dequantize_q4_1(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float m = load_f16(b + 2);
  const uint8_t* qs = b + 4;
  for (int i = 0; i < kQK / 2; ++i) {
    y[i] = d * float(qs[i] & 0x0F) + m;
    y[i + kQK / 2] = d * float(qs[i] >> 4) + m;
  }
}

// The 5-bit formats: element i's low four bits are a nibble of qs (as Q4_0), its fifth bit is
// bit i of the little-endian 32-bit qh.
void dequantize_q5(const uint8_t* qh_bytes, const uint8_t* qs, float d, float m, bool offset,
                   float* y) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int i = 0; i < kQK / 2; ++i) {
    const int lo = int(qs[i] & 0x0F) | int(((qh >> i) & 1u) << 4);
    const int hi = int(qs[i] >> 4) | int(((qh >> (i + kQK / 2)) & 1u) << 4);
    if (offset) {
      y[i] = d * float(lo - 16);
      y[i + kQK / 2] = d * float(hi - 16);
    } else {
      y[i] = d * float(lo) + m;
      y[i + kQK / 2] = d * float(hi) + m;
    }
  }
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K super-block. Sub-blocks 0..3
// keep theirs in the low six bits of bytes j and j+4; sub-blocks 4..7 split theirs into a low
// nibble in byte j+4 and the two top bits of bytes j-4 (scale) and j (min).
void k_scale_min(int j, const uint8_t* scales, int* sc, int* m) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *m = scales[j + 4] & 63;
  } else {
    *sc = (scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4);
    *m = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}

// Q4_K and Q5_K: four chunks of 64 elements; in chunk c the low nibbles of qs[32c, 32c+32) are
// sub-block 2c and the high nibbles sub-block 2c+1. Q5_K's fifth bits: bit 2c (sub-block 2c) and
// bit 2c+1 (sub-block 2c+1) of qh[l] for element l of the sub-block.
void dequantize_k4(const uint8_t* b, const uint8_t* qh, const uint8_t* qs, float* y) {
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  const uint8_t* scales = b + 4;
  for (int c = 0; c < 4; ++c) {
    int sc0, m0, sc1, m1;
    k_scale_min(2 * c, scales, &sc0, &m0);
    k_scale_min(2 * c + 1, scales, &sc1, &m1);
    const float d0 = d * float(sc0), min0 = dmin * float(m0);
    const float d1 = d * float(sc1), min1 = dmin * float(m1);
    for (int l = 0; l < 32; ++l) {
      int lo = qs[32 * c + l] & 0x0F;
      int hi = qs[32 * c + l] >> 4;
      if (qh) {
        lo |= ((qh[l] >> (2 * c)) & 1) << 4;
        hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
      }
      y[64 * c + l] = d0 * float(lo) - min0;
      y[64 * c + 32 + l] = d1 * float(hi) - min1;
    }
  }
}

// Q6_K: two halves of 128 elements. In half h, element 32k + l (k = 0..3, l = 0..31) takes its
// low four bits from ql[64h + l + 32*(k&1)] (low nibble for k < 2, high for k >= 2) and its top
// two bits from bits 2k..2k+1 of qh[32h + l]; its scale is scales[8h + 2k + l/16].
void dequantize_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = load_f16(b + 208);
  for (int h = 0; h < 2; ++h) {
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t low_byte = ql[64 * h + l + 32 * (k & 1)];
        const int low = k < 2 ? (low_byte & 0x0F) : (low_byte >> 4);
        const int top = (qh[32 * h + l] >> (2 * k)) & 3;
        const int q = (low | (top << 4)) - 32;
        const int sc = scales[8 * h + 2 * k + l / 16];
        y[128 * h + 32 * k + l] = d * float(sc) * float(q);
      }
    }
  }
}

constexpr BlockFormatInfo kFormats[] = {
    {"F32", 1, 4, true},        {"F16", 1, 2, true},       {"Q4_0", kQK, 18, true},
    {"Q4_1", kQK, 20, true},    {"", 0, 0, false},         {"", 0, 0, false},
    {"Q5_0", kQK, 22, true},    {"Q5_1", kQK, 24, true},   {"Q8_0", kQK, 34, true},
    {"Q8_1", kQK, 36, false},   {"Q2_K", kQKK, 84, false}, {"Q3_K", kQKK, 110, false},
    {"Q4_K", kQKK, 144, true},  {"Q5_K", kQKK, 176, true}, {"Q6_K", kQKK, 210, true},
    {"Q8_K", kQKK, 292, false},
};
constexpr BlockFormatInfo kBF16{"BF16", 1, 2, true};

}  // namespace

const BlockFormatInfo* block_format_info(uint32_t id) {
  if (id == uint32_t(BlockFormat::kBF16)) return &kBF16;
  if (id >= sizeof(kFormats) / sizeof(kFormats[0]) || kFormats[id].block_elems == 0) return nullptr;
  return &kFormats[id];
}

size_t block_format_row_bytes(BlockFormat format, int64_t n) {
  const BlockFormatInfo* info = block_format_info(uint32_t(format));
  XY_CHECK(info != nullptr);
  XY_CHECK(n >= 0 && n % info->block_elems == 0);
  return size_t(n / info->block_elems) * size_t(info->block_bytes);
}

void dequantize_row(BlockFormat format, const uint8_t* blocks, float* out, int64_t n) {
  const BlockFormatInfo* info = block_format_info(uint32_t(format));
  XY_CHECK(info != nullptr && info->dequantizable);
  XY_CHECK(n >= 0 && n % info->block_elems == 0);
  const int64_t n_blocks = n / info->block_elems;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const uint8_t* b = blocks + i * info->block_bytes;
    float* y = out + i * info->block_elems;
    switch (format) {
      case BlockFormat::kF32:
        std::memcpy(y, b, 4);
        break;
      case BlockFormat::kF16:
        *y = load_f16(b);
        break;
      case BlockFormat::kBF16: {
        bf16 h;
        std::memcpy(&h.bits, b, 2);
        *y = bf16_to_f32(h);
        break;
      }
      case BlockFormat::kQ8_0:
        dequantize_q8_0(b, y);
        break;
      case BlockFormat::kQ4_0:
        dequantize_q4_0(b, y);
        break;
      case BlockFormat::kQ4_1:
        dequantize_q4_1(b, y);
        break;
      case BlockFormat::kQ5_0:
        dequantize_q5(b + 2, b + 6, load_f16(b), 0.0f, /*offset=*/true, y);
        break;
      case BlockFormat::kQ5_1:
        dequantize_q5(b + 4, b + 8, load_f16(b), load_f16(b + 2), /*offset=*/false, y);
        break;
      case BlockFormat::kQ4_K:
        dequantize_k4(b, nullptr, b + 16, y);
        break;
      case BlockFormat::kQ5_K:
        dequantize_k4(b, b + 16, b + 48, y);
        break;
      case BlockFormat::kQ6_K:
        dequantize_q6_k(b, y);
        break;
      default:
        XY_CHECK(false && "format without a dequantizer");
    }
  }
}

void quantize_row_q8_0(const float* x, uint8_t* blocks, int64_t n) {
  XY_CHECK(n % kQK == 0);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    uint8_t* out = blocks + b * 34;
    float amax = 0.0f;
    for (int i = 0; i < kQK; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = f32_to_f16(d);
    std::memcpy(out, &dh, 2);
    for (int i = 0; i < kQK; ++i) out[2 + i] = uint8_t(int8_t(std::lround(xb[i] * id)));
  }
}

void quantize_row_q4_0(const float* x, uint8_t* blocks, int64_t n) {
  XY_CHECK(n % kQK == 0);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    uint8_t* out = blocks + b * 18;
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < kQK; ++i) {
      if (std::fabs(xb[i]) > amax) {
        amax = std::fabs(xb[i]);
        max = xb[i];
      }
    }
    // The extreme value maps to -8 exactly; the other side gets 15 levels.
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = f32_to_f16(d);
    std::memcpy(out, &dh, 2);
    for (int i = 0; i < kQK / 2; ++i) {
      const int lo = std::min(15, int(xb[i] * id + 8.5f));
      const int hi = std::min(15, int(xb[i + kQK / 2] * id + 8.5f));
      out[2 + i] = uint8_t(lo | (hi << 4));
    }
  }
}

}  // namespace xy::ref
