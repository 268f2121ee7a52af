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

void codes_q8_0(const uint8_t* b, CodeGroup* g) {
  g->d = load_f16(b);
  g->offset = 128;
  for (int i = 0; i < kQK; ++i) g->code[i] = uint8_t(int(int8_t(b[2 + i])) + 128);
}

// Q4_0 / Q4_1: low nibbles of qs are elements 0..15, high nibbles 16..31.
void unpack_nibbles(const uint8_t* qs, uint8_t* code) {
  for (int i = 0; i < kQK / 2; ++i) {
    code[i] = qs[i] & 0x0F;
    code[i + kQK / 2] = qs[i] >> 4;
  }
}

// The 5-bit formats: element i's low four bits are a nibble of qs (as Q4_0), its fifth bit is
// bit i of the little-endian 32-bit qh.
void unpack_q5(const uint8_t* qh_bytes, const uint8_t* qs, uint8_t* code) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  unpack_nibbles(qs, code);
  for (int i = 0; i < kQK; ++i) code[i] = uint8_t(code[i] | (((qh >> i) & 1u) << 4));
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
void codes_k(const uint8_t* b, const uint8_t* qh, const uint8_t* qs, CodeGroup* g) {
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  const uint8_t* scales = b + 4;
  for (int j = 0; j < 8; ++j) {
    int sc, mn;
    k_scale_min(j, scales, &sc, &mn);
    g[j].d = d * float(sc);
    g[j].m = dmin * float(mn);
    const int c = j / 2, shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) {
      int q = (qs[32 * c + l] >> shift) & 0x0F;
      if (qh) q |= ((qh[l] >> j) & 1) << 4;
      g[j].code[l] = uint8_t(q);
    }
  }
}

}  // namespace

// Q6_K: two halves of 128 elements. In half h, element 32k + l (k = 0..3, l = 0..31) takes its
// low four bits from ql[64h + l + 32*(k&1)] (low nibble for k < 2, high for k >= 2) and its top
// two bits from bits 2k..2k+1 of qh[32h + l]; its scale is scales[8h + 2k + l/16].
void decode_q6_k_groups(const uint8_t* b, Q6Group* g) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(b + 192);
  uint16_t d;
  std::memcpy(&d, b + 208, 2);
  for (int h = 0; h < 2; ++h) {
    for (int k = 0; k < 4; ++k) {
      Q6Group& out = g[4 * h + k];
      out.d = d;
      out.sc[0] = scales[8 * h + 2 * k];
      out.sc[1] = scales[8 * h + 2 * k + 1];
      for (int l = 0; l < 32; ++l) {
        const uint8_t low_byte = ql[64 * h + l + 32 * (k & 1)];
        const int low = k < 2 ? (low_byte & 0x0F) : (low_byte >> 4);
        const int top = (qh[32 * h + l] >> (2 * k)) & 3;
        out.code[l] = uint8_t(low | (top << 4));
      }
    }
  }
}

namespace {

void dequantize_q6_k(const uint8_t* b, float* y) {
  Q6Group groups[8];
  decode_q6_k_groups(b, groups);
  for (int g = 0; g < 8; ++g) {
    const float d = f16_to_f32(groups[g].d);
    for (int l = 0; l < 32; ++l) {
      y[32 * g + l] = d * float(groups[g].sc[l / 16]) * float(int(groups[g].code[l]) - 32);
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

int code_bits(BlockFormat format) {
  switch (format) {
    case BlockFormat::kQ4_0:
    case BlockFormat::kQ4_1:
    case BlockFormat::kQ4_K:
      return 4;
    case BlockFormat::kQ5_0:
    case BlockFormat::kQ5_1:
    case BlockFormat::kQ5_K:
      return 5;
    case BlockFormat::kQ8_0:
      return 8;
    default:
      return 0;
  }
}

int decode_code_groups(BlockFormat format, const uint8_t* b, CodeGroup* g) {
  switch (format) {
    case BlockFormat::kQ8_0:
      codes_q8_0(b, g);
      return 1;
    case BlockFormat::kQ4_0:
      g->d = load_f16(b);
      g->offset = 8;
      unpack_nibbles(b + 2, g->code);
      return 1;
    case BlockFormat::kQ4_1:
      g->d = load_f16(b);
      g->m = 0.0f - load_f16(b + 2);
      unpack_nibbles(b + 4, g->code);
      return 1;
    case BlockFormat::kQ5_0:
      g->d = load_f16(b);
      g->offset = 16;
      unpack_q5(b + 2, b + 6, g->code);
      return 1;
    case BlockFormat::kQ5_1:
      g->d = load_f16(b);
      g->m = 0.0f - load_f16(b + 2);
      unpack_q5(b + 4, b + 8, g->code);
      return 1;
    case BlockFormat::kQ4_K:
      codes_k(b, nullptr, b + 16, g);
      return 8;
    case BlockFormat::kQ5_K:
      codes_k(b, b + 16, b + 48, g);
      return 8;
    default:
      XY_CHECK(false && "format without a code form");
      return 0;
  }
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
      case BlockFormat::kQ4_0:
      case BlockFormat::kQ4_1:
      case BlockFormat::kQ5_0:
      case BlockFormat::kQ5_1:
      case BlockFormat::kQ4_K:
      case BlockFormat::kQ5_K: {
        CodeGroup groups[8];
        const int n_groups = decode_code_groups(format, b, groups);
        for (int g = 0; g < n_groups; ++g) {
          const CodeGroup& cg = groups[g];
          float* yg = y + g * kQK;
          // value = d*(code-offset) for the symmetric formats, d*code - m for the others: the
          // products and differences the formats' definitions write, so bit for bit theirs.
          for (int i = 0; i < kQK; ++i) {
            yg[i] = cg.offset >= 0 ? cg.d * float(int(cg.code[i]) - cg.offset)
                                   : cg.d * float(cg.code[i]) - cg.m;
          }
        }
        break;
      }
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

namespace {

void store_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

// The value of largest magnitude, with its sign.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

int nearest_clamped(float v, int lo, int hi) {
  if (!(v == v)) return lo;
  return std::clamp(int(std::lround(std::clamp(v, float(lo) - 1.0f, float(hi) + 1.0f))), lo, hi);
}

}  // namespace

void quantize_row_q5_0(const float* x, uint8_t* blocks, int64_t n) {
  XY_CHECK(n % kQK == 0);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    uint8_t* out = blocks + b * 22;
    const float d = signed_absmax(xb, kQK) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(out, d);
    uint32_t qh = 0;
    for (int i = 0; i < kQK / 2; ++i) {
      const int lo = std::min(31, int(xb[i] * id + 16.5f));
      const int hi = std::min(31, int(xb[i + kQK / 2] * id + 16.5f));
      out[6 + i] = uint8_t((lo & 0x0F) | ((hi & 0x0F) << 4));
      qh |= uint32_t((lo >> 4) & 1) << i;
      qh |= uint32_t((hi >> 4) & 1) << (i + kQK / 2);
    }
    std::memcpy(out + 2, &qh, 4);
  }
}

void quantize_row_q4_k(const float* x, uint8_t* blocks, int64_t n) {
  XY_CHECK(n % kQKK == 0);
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const float* xb = x + b * kQKK;
    uint8_t* out = blocks + b * 144;
    float scale[8], min[8], max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
      float lo = 0.0f, hi = xb[32 * j];
      for (int l = 0; l < 32; ++l) {
        lo = std::min(lo, xb[32 * j + l]);
        hi = std::max(hi, xb[32 * j + l]);
      }
      scale[j] = std::max(0.0f, hi - lo) / 15.0f;
      min[j] = -lo;
      max_scale = std::max(max_scale, scale[j]);
      max_min = std::max(max_min, min[j]);
    }
    store_f16(out, max_scale / 63.0f);
    store_f16(out + 2, max_min / 63.0f);
    const float d = load_f16(out), dmin = load_f16(out + 2);
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = d > 0.0f ? nearest_clamped(scale[j] / d, 0, 63) : 0;
      mn[j] = dmin > 0.0f ? nearest_clamped(min[j] / dmin, 0, 63) : 0;
    }
    uint8_t* scales = out + 4;
    for (int j = 0; j < 4; ++j) {
      scales[j] = uint8_t((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
      scales[j + 4] = uint8_t((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
      scales[j + 8] = uint8_t((sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4));
    }
    uint8_t q[kQKK];
    for (int j = 0; j < 8; ++j) {
      // The values the decoder will use: d*sc and dmin*m as f32 products of the stored parts.
      const float dd = d * float(sc[j]), mm = dmin * float(mn[j]);
      for (int l = 0; l < 32; ++l) {
        q[32 * j + l] = uint8_t(dd > 0.0f ? nearest_clamped((xb[32 * j + l] + mm) / dd, 0, 15) : 0);
      }
    }
    uint8_t* qs = out + 16;
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l)
        qs[32 * c + l] = uint8_t(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
  }
}

void quantize_row_q6_k(const float* x, uint8_t* blocks, int64_t n) {
  XY_CHECK(n % kQKK == 0);
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const float* xb = x + b * kQKK;
    uint8_t* out = blocks + b * 210;
    std::memset(out, 0, 210);
    float scale[16], max_abs = 0.0f;
    for (int s = 0; s < 16; ++s) {
      scale[s] = signed_absmax(xb + 16 * s, 16) / 31.0f;
      max_abs = std::max(max_abs, std::fabs(scale[s]));
    }
    store_f16(out + 208, max_abs / 127.0f);
    const float d = load_f16(out + 208);
    auto* scales = reinterpret_cast<int8_t*>(out + 192);
    for (int s = 0; s < 16; ++s)
      scales[s] = int8_t(d > 0.0f ? nearest_clamped(scale[s] / d, -128, 127) : 0);
    uint8_t* ql = out;
    uint8_t* qh = out + 128;
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 4; ++k) {
        for (int l = 0; l < 32; ++l) {
          const int e = 128 * h + 32 * k + l;
          const float dd = d * float(scales[8 * h + 2 * k + l / 16]);
          const int q = (dd != 0.0f ? nearest_clamped(xb[e] / dd, -32, 31) : 0) + 32;
          uint8_t& low = ql[64 * h + l + 32 * (k & 1)];
          low = uint8_t(low | ((k < 2 ? (q & 0x0F) : ((q & 0x0F) << 4))));
          qh[32 * h + l] = uint8_t(qh[32 * h + l] | (((q >> 4) & 3) << (2 * k)));
        }
      }
    }
  }
}

}  // namespace xy::ref
