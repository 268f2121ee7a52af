// Block formats: each test draws random logical contents (scales, mins, quant values), packs them
// into the format's bytes as the GGUF format description lays them out (written here in the
// packing direction, independently of the dequantizer's unpacking), and requires dequantize_row to
// give back exactly scale * q - min, bit for bit. The scales are random f16 values, so the
// products are exact in f32 and fused or unfused arithmetic gives the same bits.
#include "kernels/reference/quant_blocks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"

namespace xy::ref {
namespace {

class Packer {
 public:
  explicit Packer(uint32_t seed) : rng_(seed) {}
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  // A random finite f16 (normal or subnormal, either sign) and its value.
  uint16_t f16(float* value) {
    uint16_t h;
    do {
      h = uint16_t(uniform(0, 0xFFFF));
    } while (((h >> 10) & 0x1F) == 0x1F);  // no inf/NaN
    *value = f16_to_f32(h);
    return h;
  }
  std::mt19937 rng_;
};

void store16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  std::memcpy(b.data() + at, &v, 2);
}

std::vector<float> dequant(BlockFormat f, const std::vector<uint8_t>& bytes, int n) {
  std::vector<float> y(n);
  dequantize_row(f, bytes.data(), y.data(), n);
  return y;
}

void expect_bits_equal(const std::vector<float>& got, const std::vector<float>& want,
                       const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &want[i], 4);
    ASSERT_EQ(a, b) << what << " element " << i << ": " << got[i] << " vs " << want[i];
  }
}

constexpr int kBlocks = 7;  // rows of several blocks: block i must read its own bytes

TEST(QuantBlocks, SizesAreTheFormatsOwn) {
  struct {
    BlockFormat f;
    int elems, bytes;
    const char* name;
  } expected[] = {{BlockFormat::kF32, 1, 4, "F32"},       {BlockFormat::kF16, 1, 2, "F16"},
                  {BlockFormat::kBF16, 1, 2, "BF16"},     {BlockFormat::kQ4_0, 32, 18, "Q4_0"},
                  {BlockFormat::kQ4_1, 32, 20, "Q4_1"},   {BlockFormat::kQ5_0, 32, 22, "Q5_0"},
                  {BlockFormat::kQ5_1, 32, 24, "Q5_1"},   {BlockFormat::kQ8_0, 32, 34, "Q8_0"},
                  {BlockFormat::kQ4_K, 256, 144, "Q4_K"}, {BlockFormat::kQ5_K, 256, 176, "Q5_K"},
                  {BlockFormat::kQ6_K, 256, 210, "Q6_K"}};
  for (const auto& e : expected) {
    const BlockFormatInfo* info = block_format_info(uint32_t(e.f));
    ASSERT_NE(info, nullptr) << e.name;
    EXPECT_EQ(info->name, e.name);
    EXPECT_EQ(info->block_elems, e.elems) << e.name;
    EXPECT_EQ(info->block_bytes, e.bytes) << e.name;
    EXPECT_TRUE(info->dequantizable) << e.name;
    EXPECT_EQ(block_format_row_bytes(e.f, 4 * e.elems), size_t(4 * e.bytes)) << e.name;
  }
  EXPECT_EQ(block_format_info(4), nullptr);  // ids 4 and 5 were removed formats
  EXPECT_EQ(block_format_info(5), nullptr);
  EXPECT_EQ(block_format_info(999), nullptr);
  ASSERT_NE(block_format_info(uint32_t(BlockFormat::kQ2_K)), nullptr);
  EXPECT_FALSE(block_format_info(uint32_t(BlockFormat::kQ2_K))->dequantizable);
}

TEST(QuantBlocks, Q8_0) {
  Packer p(1);
  std::vector<uint8_t> bytes(kBlocks * 34);
  std::vector<float> want(kBlocks * 32);
  for (int b = 0; b < kBlocks; ++b) {
    float d;
    store16(bytes, b * 34, p.f16(&d));
    for (int i = 0; i < 32; ++i) {
      const int q = p.uniform(-128, 127);
      bytes[b * 34 + 2 + i] = uint8_t(int8_t(q));
      want[b * 32 + i] = d * float(q);
    }
  }
  expect_bits_equal(dequant(BlockFormat::kQ8_0, bytes, kBlocks * 32), want, "Q8_0");
}

// The 32-element 4- and 5-bit formats: element i < 16 in the low nibble of qs[i], element i+16
// in its high nibble; the 5th bit of element i is bit i of the little-endian u32 qh.
void check_small_format(BlockFormat f, int block_bytes, bool has_min, bool five_bits,
                        uint32_t seed) {
  Packer p(seed);
  std::vector<uint8_t> bytes(kBlocks * block_bytes);
  std::vector<float> want(kBlocks * 32);
  const int qmax = five_bits ? 31 : 15;
  const int offset = has_min ? 0 : (five_bits ? 16 : 8);
  for (int b = 0; b < kBlocks; ++b) {
    const size_t base = size_t(b) * block_bytes;
    float d, m = 0.0f;
    store16(bytes, base, p.f16(&d));
    size_t at = base + 2;
    if (has_min) {
      store16(bytes, at, p.f16(&m));
      at += 2;
    }
    uint32_t qh = 0;
    int q[32];
    for (int i = 0; i < 32; ++i) {
      q[i] = p.uniform(0, qmax);
      if (five_bits && (q[i] & 16)) qh |= 1u << i;
      want[b * 32 + i] = has_min ? d * float(q[i]) + m : d * float(q[i] - offset);
    }
    if (five_bits) {
      std::memcpy(bytes.data() + at, &qh, 4);
      at += 4;
    }
    for (int i = 0; i < 16; ++i) bytes[at + i] = uint8_t((q[i] & 15) | ((q[i + 16] & 15) << 4));
  }
  expect_bits_equal(dequant(f, bytes, kBlocks * 32), want,
                    block_format_info(uint32_t(f))->name.data());
}

TEST(QuantBlocks, Q4_0) {
  check_small_format(BlockFormat::kQ4_0, 18, false, false, 2);
}
TEST(QuantBlocks, Q4_1) {
  check_small_format(BlockFormat::kQ4_1, 20, true, false, 3);
}
TEST(QuantBlocks, Q5_0) {
  check_small_format(BlockFormat::kQ5_0, 22, false, true, 4);
}
TEST(QuantBlocks, Q5_1) {
  check_small_format(BlockFormat::kQ5_1, 24, true, true, 5);
}

// Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scale sc[j] and min m[j], packed into 12 bytes:
// bytes 0-3 hold sc[0..3] in their low 6 bits and the top 2 bits of sc[4..7]; bytes 4-7 the same
// for the mins; bytes 8-11 hold the low nibbles of sc[4..7] (low) and m[4..7] (high).
// Quants: 64-element chunk c has sub-block 2c in the low nibbles of qs[32c..32c+32) and 2c+1 in
// the high ones; Q5_K's 5th bit of element l of sub-block j is bit j of qh[l].
void check_k4(bool five_bits, uint32_t seed) {
  const int block_bytes = five_bits ? 176 : 144;
  const BlockFormat f = five_bits ? BlockFormat::kQ5_K : BlockFormat::kQ4_K;
  Packer p(seed);
  std::vector<uint8_t> bytes(kBlocks * block_bytes);
  std::vector<float> want(kBlocks * 256);
  for (int b = 0; b < kBlocks; ++b) {
    uint8_t* blk = bytes.data() + size_t(b) * block_bytes;
    float d, dmin;
    uint16_t hd = p.f16(&d), hm = p.f16(&dmin);
    std::memcpy(blk, &hd, 2);
    std::memcpy(blk + 2, &hm, 2);
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = p.uniform(0, 63);
      mn[j] = p.uniform(0, 63);
    }
    uint8_t* scales = blk + 4;
    for (int j = 0; j < 4; ++j) {
      scales[j] = uint8_t(sc[j] | ((sc[j + 4] >> 4) << 6));
      scales[j + 4] = uint8_t(mn[j] | ((mn[j + 4] >> 4) << 6));
      scales[j + 8] = uint8_t((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
    uint8_t* qh = five_bits ? blk + 16 : nullptr;
    uint8_t* qs = blk + (five_bits ? 48 : 16);
    for (int e = 0; e < 256; ++e) {
      const int j = e / 32, l = e % 32, chunk = j / 2;
      const int q = p.uniform(0, five_bits ? 31 : 15);
      if (j % 2 == 0)
        qs[32 * chunk + l] = uint8_t((qs[32 * chunk + l] & 0xF0) | (q & 15));
      else
        qs[32 * chunk + l] = uint8_t((qs[32 * chunk + l] & 0x0F) | ((q & 15) << 4));
      if (five_bits && (q & 16)) qh[l] = uint8_t(qh[l] | (1 << j));
      want[b * 256 + e] = d * float(sc[j]) * float(q) - dmin * float(mn[j]);
    }
  }
  expect_bits_equal(dequant(f, bytes, kBlocks * 256), want, five_bits ? "Q5_K" : "Q4_K");
}

TEST(QuantBlocks, Q4_K) {
  check_k4(false, 6);
}
TEST(QuantBlocks, Q5_K) {
  check_k4(true, 7);
}

// Q6_K: 16 sub-blocks of 16 with int8 scales; element e = 128h + 32k + l (k = 0..3) keeps its
// low 4 bits in ql[64h + l + 32(k%2)] (low nibble for k < 2, high for k >= 2), its top 2 bits in
// bits 2k, 2k+1 of qh[32h + l]; stored q6 = q + 32.
TEST(QuantBlocks, Q6_K) {
  Packer p(8);
  std::vector<uint8_t> bytes(kBlocks * 210);
  std::vector<float> want(kBlocks * 256);
  for (int b = 0; b < kBlocks; ++b) {
    uint8_t* blk = bytes.data() + size_t(b) * 210;
    uint8_t* ql = blk;
    uint8_t* qh = blk + 128;
    auto* scales = reinterpret_cast<int8_t*>(blk + 192);
    float d;
    uint16_t hd = p.f16(&d);
    std::memcpy(blk + 208, &hd, 2);
    for (int s = 0; s < 16; ++s) scales[s] = int8_t(p.uniform(-128, 127));
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, k = (e % 128) / 32, l = e % 32;
      const int q = p.uniform(-32, 31);
      const int stored = q + 32;
      uint8_t& low = ql[64 * h + l + 32 * (k % 2)];
      if (k < 2)
        low = uint8_t((low & 0xF0) | (stored & 15));
      else
        low = uint8_t((low & 0x0F) | ((stored & 15) << 4));
      qh[32 * h + l] = uint8_t(qh[32 * h + l] | ((stored >> 4) << (2 * k)));
      // Sub-block of 16: element e belongs to sub-block e / 16.
      want[b * 256 + e] = d * float(scales[e / 16]) * float(q);
    }
  }
  expect_bits_equal(dequant(BlockFormat::kQ6_K, bytes, kBlocks * 256), want, "Q6_K");
}

TEST(QuantBlocks, PlainFloatRows) {
  Packer p(9);
  const int n = 37;
  std::vector<uint8_t> f16_bytes(n * 2), bf16_bytes(n * 2), f32_bytes(n * 4);
  std::vector<float> want16(n), wantb(n), want32(n);
  for (int i = 0; i < n; ++i) {
    store16(f16_bytes, i * 2, p.f16(&want16[i]));
    const uint16_t hb = uint16_t(p.uniform(0, 0x7F7F));  // finite bf16
    store16(bf16_bytes, i * 2, hb);
    wantb[i] = bf16_to_f32(bf16{hb});
    want32[i] = float(p.uniform(-1000000, 1000000)) / 7.0f;
    std::memcpy(f32_bytes.data() + i * 4, &want32[i], 4);
  }
  expect_bits_equal(dequant(BlockFormat::kF16, f16_bytes, n), want16, "F16");
  expect_bits_equal(dequant(BlockFormat::kBF16, bf16_bytes, n), wantb, "BF16");
  expect_bits_equal(dequant(BlockFormat::kF32, f32_bytes, n), want32, "F32");
}

// Quantize then dequantize: every value within half a step (Q8_0) or one step (Q4_0) of the
// input, where a step is the block's stored scale; a zero block stays zero.
TEST(QuantBlocks, QuantizersRoundTripWithinTheirStep) {
  std::mt19937 rng(10);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int blocks : {1, 3, 8}) {
    const int n = 32 * blocks;
    std::vector<float> x(n);
    for (float& v : x) v = normal(rng) * (blocks == 3 ? 1e-3f : 2.0f);
    std::vector<uint8_t> q8(blocks * 34), q4(blocks * 18);
    quantize_row_q8_0(x.data(), q8.data(), n);
    quantize_row_q4_0(x.data(), q4.data(), n);
    const std::vector<float> y8 = dequant(BlockFormat::kQ8_0, q8, n);
    const std::vector<float> y4 = dequant(BlockFormat::kQ4_0, q4, n);
    for (int b = 0; b < blocks; ++b) {
      uint16_t h8, h4;
      std::memcpy(&h8, q8.data() + b * 34, 2);
      std::memcpy(&h4, q4.data() + b * 18, 2);
      const float d8 = std::fabs(f16_to_f32(h8)), d4 = std::fabs(f16_to_f32(h4));
      // The stored scale is the f16 rounding of the exact one (half an ulp: 2^-12 relative, or
      // 2^-25 absolute for f16 subnormals), an error multiplied by up to 128 (Q8_0) / 16 (Q4_0).
      const auto f16_err = [](float d) { return d * 0x1p-11f + 0x1p-25f; };
      for (int i = b * 32; i < (b + 1) * 32; ++i) {
        EXPECT_LE(std::fabs(y8[i] - x[i]), 0.5f * d8 + 128.0f * f16_err(d8)) << i;
        EXPECT_LE(std::fabs(y4[i] - x[i]), 1.0f * d4 + 16.0f * f16_err(d4)) << i;
      }
    }
  }
  std::vector<float> zeros(64, 0.0f);
  std::vector<uint8_t> q(2 * 34);
  quantize_row_q8_0(zeros.data(), q.data(), 64);
  for (float v : dequant(BlockFormat::kQ8_0, q, 64)) EXPECT_EQ(v, 0.0f);
}

// The K-quant and Q5_0 quantizers: each sub-block's values come back within about one step of
// that sub-block's scale (the 6-bit / int8 scale quantization adds a few percent), judged per
// sub-block so a mistake in one sub-block's packing cannot hide behind its neighbours.
TEST(QuantBlocks, KQuantAndQ5_0QuantizersRoundTrip) {
  std::mt19937 rng(12);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  struct F {
    BlockFormat format;
    int block_bytes, group;
    void (*quantize)(const float*, uint8_t*, int64_t);
    float steps;  // levels across a group's range
  };
  for (const F& f : {F{BlockFormat::kQ4_K, 144, 32, quantize_row_q4_k, 15.0f},
                     F{BlockFormat::kQ6_K, 210, 16, quantize_row_q6_k, 63.0f},
                     F{BlockFormat::kQ5_0, 22, 32, quantize_row_q5_0, 31.0f}}) {
    for (float spread : {1e-3f, 1.0f, 40.0f}) {
      const int n = 768;
      std::vector<float> x(n);
      for (float& v : x) v = normal(rng) * spread;
      std::vector<uint8_t> q(n / (f.format == BlockFormat::kQ5_0 ? 32 : 256) * f.block_bytes);
      f.quantize(x.data(), q.data(), n);
      const std::vector<float> y = dequant(f.format, q, n);
      double err2 = 0, ref2 = 0;
      for (int g = 0; g < n / f.group; ++g) {
        float lo = 0, hi = 0;
        for (int i = g * f.group; i < (g + 1) * f.group; ++i) {
          lo = std::min(lo, x[i]);
          hi = std::max(hi, x[i]);
        }
        const float step = (hi - lo) / f.steps;
        for (int i = g * f.group; i < (g + 1) * f.group; ++i) {
          ASSERT_LE(std::fabs(y[i] - x[i]), 1.2f * step + 1e-6f * spread)
              << ref::block_format_info(uint32_t(f.format))->name << " element " << i;
          err2 += double(y[i] - x[i]) * (y[i] - x[i]);
          ref2 += double(x[i]) * x[i];
        }
      }
      EXPECT_LT(std::sqrt(err2 / ref2), f.steps > 40 ? 0.03 : 0.12)
          << ref::block_format_info(uint32_t(f.format))->name;
    }
  }
}

}  // namespace
}  // namespace xy::ref
