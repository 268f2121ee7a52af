// QuantWeight packing and QuantGEMM, against the formats' own dequantization:
// - packing: the weight the packed panels encode equals the file's values bit for bit for the
//   formats kept exactly (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q6_K in its 6-bit panels), within f16
//   rounding of the sub-block scales for Q4_K / Q5_K, within the 8-bit requantization step for
//   Q6_K stacked with other formats and for plain floats;
// - GEMM: y vs the dequantize-then-f32 reference (double accumulation) within rel. L2 1e-2 for
//   8- and 6-bit and 5e-2 for 4-bit weights, over many shapes, both layouts and every epilogue;
// - bitwise: AVX-512 VNNI == AVX2 == scalar, and a row's result is the same alone, in any batch,
//   with any tile config and any number of workers.
#include "kernels/cpu/quant_gemm.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/worker_pool.h"
#include "gemm_test_util.h"
#include "kernels/cpu/quant_gemm_tiles.h"
#include "kernels/reference/quant_blocks.h"

namespace xy::cpu {
namespace {

using ref::BlockFormat;
using testing::rel_l2;

// Random blocks of `format`: random bytes, with every f16 scale field replaced by a finite value
// of a realistic size (2^-10 .. 2^-5 for scales, so weights are O(0.1)).
std::vector<uint8_t> random_rows(BlockFormat format, int rows, int k, std::mt19937& rng) {
  const size_t row_bytes = ref::block_format_row_bytes(format, k);
  std::vector<uint8_t> b(row_bytes * rows);
  for (uint8_t& v : b) v = uint8_t(rng());
  const ref::BlockFormatInfo* info = ref::block_format_info(uint32_t(format));
  std::uniform_real_distribution<float> scale(1.0f / 1024, 1.0f / 32);
  auto put = [&](size_t at, float v) {
    const uint16_t h = f32_to_f16(v);
    std::memcpy(b.data() + at, &h, 2);
  };
  const size_t blocks = b.size() / info->block_bytes;
  for (size_t i = 0; i < blocks; ++i) {
    const size_t at = i * info->block_bytes;
    switch (format) {
      case BlockFormat::kF32:
        for (int j = 0; j < 1; ++j) {
          const float v = scale(rng) * 8 * (rng() % 2 ? 1 : -1);
          std::memcpy(b.data() + at, &v, 4);
        }
        break;
      case BlockFormat::kF16:
      case BlockFormat::kBF16: {
        const float v = scale(rng) * 8 * (rng() % 2 ? 1 : -1);
        if (format == BlockFormat::kF16) {
          put(at, v);
        } else {
          const uint16_t h = f32_to_bf16(v).bits;
          std::memcpy(b.data() + at, &h, 2);
        }
        break;
      }
      case BlockFormat::kQ6_K:
        put(at + 208, scale(rng) / 16);
        break;
      case BlockFormat::kQ4_K:
      case BlockFormat::kQ5_K:
        put(at, scale(rng) / 8);
        put(at + 2, scale(rng) / 8);
        break;
      case BlockFormat::kQ4_1:
      case BlockFormat::kQ5_1:
        put(at, scale(rng));
        put(at + 2, -scale(rng) * 8);
        break;
      default:  // Q8_0, Q4_0, Q5_0: d first
        put(at, format == BlockFormat::kQ8_0 ? scale(rng) / 8 : scale(rng));
        break;
    }
  }
  return b;
}

std::vector<float> file_values(BlockFormat format, const std::vector<uint8_t>& rows, int n_rows,
                               int k) {
  std::vector<float> w(static_cast<size_t>(n_rows) * k);
  const size_t row_bytes = ref::block_format_row_bytes(format, k);
  for (int r = 0; r < n_rows; ++r)
    ref::dequantize_row(format, rows.data() + r * row_bytes, w.data() + size_t(r) * k, k);
  return w;
}

constexpr BlockFormat kAllFormats[] = {BlockFormat::kQ8_0, BlockFormat::kQ4_0, BlockFormat::kQ4_1,
                                       BlockFormat::kQ5_0, BlockFormat::kQ5_1, BlockFormat::kQ4_K,
                                       BlockFormat::kQ5_K, BlockFormat::kQ6_K, BlockFormat::kF32,
                                       BlockFormat::kF16,  BlockFormat::kBF16};

bool kept_exactly(BlockFormat f) {
  return f == BlockFormat::kQ8_0 || f == BlockFormat::kQ4_0 || f == BlockFormat::kQ4_1 ||
         f == BlockFormat::kQ5_0 || f == BlockFormat::kQ5_1 || f == BlockFormat::kQ6_K;
}

// The packed weight's own rows, dequantized.
std::vector<float> packed_values(const QuantWeight& w) {
  std::vector<float> out(static_cast<size_t>(w.n_rows()) * w.k());
  for (int r = 0; r < w.n_rows(); ++r) w.dequantize_row(r, out.data() + size_t(r) * w.k());
  return out;
}

TEST(QuantWeight, PackedValuesAreTheFilesValues) {
  std::mt19937 rng(11);
  for (BlockFormat f : kAllFormats) {
    for (int rows : {1, 16, 37}) {
      const int k = 512;
      const std::vector<uint8_t> src = random_rows(f, rows, k, rng);
      const QuantSource part{src.data(), f, rows};
      Result<QuantWeight> w = QuantWeight::pack({&part, 1}, k);
      ASSERT_TRUE(w.is_ok()) << w.status().message();
      const std::vector<float> want = file_values(f, src, rows, k);
      const std::vector<float> got = packed_values(*w);
      const std::string what = std::string(ref::block_format_info(uint32_t(f))->name);
      if (kept_exactly(f)) {
        for (size_t i = 0; i < want.size(); ++i) {
          ASSERT_TRUE(testing::same_bits(want[i], got[i]))
              << what << " element " << i << ": " << want[i] << " vs " << got[i];
        }
      } else if (f == BlockFormat::kQ4_K || f == BlockFormat::kQ5_K) {
        EXPECT_LT(rel_l2(got, want), 2e-3) << what;
      } else {
        EXPECT_LT(rel_l2(got, want), 1e-2) << what;
      }
      const int bits = ref::code_bits(f) == 4 ? 4 : f == BlockFormat::kQ6_K ? 6 : 8;
      EXPECT_EQ(w->bits(), bits) << what;
    }
  }
}

TEST(QuantWeight, MixedPartsAndGateUpLayout) {
  std::mt19937 rng(12);
  const int k = 256;
  // q/k in Q4_K and v in Q6_K (a Q4_K_M file's attention), and Q4_0 + Q8_0 halves of a gate/up.
  const std::vector<uint8_t> a = random_rows(BlockFormat::kQ4_K, 32, k, rng);
  const std::vector<uint8_t> b = random_rows(BlockFormat::kQ6_K, 8, k, rng);
  const QuantSource qkv[] = {{a.data(), BlockFormat::kQ4_K, 32}, {b.data(), BlockFormat::kQ6_K, 8}};
  Result<QuantWeight> w = QuantWeight::pack(qkv, k, WeightLayout::kPlain, "qkv");
  ASSERT_TRUE(w.is_ok()) << w.status().message();
  EXPECT_EQ(w->bits(), 8);
  EXPECT_TRUE(w->has_min());
  std::vector<float> want = file_values(BlockFormat::kQ4_K, a, 32, k);
  const std::vector<float> wv = file_values(BlockFormat::kQ6_K, b, 8, k);
  want.insert(want.end(), wv.begin(), wv.end());
  EXPECT_LT(rel_l2(packed_values(*w), want), 1e-2);

  const std::vector<uint8_t> gate = random_rows(BlockFormat::kQ4_0, 24, k, rng);
  const std::vector<uint8_t> up = random_rows(BlockFormat::kQ8_0, 24, k, rng);
  const QuantSource gu[] = {{gate.data(), BlockFormat::kQ4_0, 24},
                            {up.data(), BlockFormat::kQ8_0, 24}};
  Result<QuantWeight> g = QuantWeight::pack(gu, k, WeightLayout::kGateUp, "gate_up");
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  EXPECT_EQ(g->bits(), 8);
  EXPECT_FALSE(g->has_min());  // both symmetric: Q4_0's codes move to offset 128
  std::vector<float> gwant = file_values(BlockFormat::kQ4_0, gate, 24, k);
  const std::vector<float> uwant = file_values(BlockFormat::kQ8_0, up, 24, k);
  gwant.insert(gwant.end(), uwant.begin(), uwant.end());
  const std::vector<float> got = packed_values(*g);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_TRUE(testing::same_bits(got[i], gwant[i])) << i;
}

TEST(QuantWeight, BadInputIsAClearError) {
  std::vector<uint8_t> src(34 * 4, 0);
  const QuantSource part{src.data(), BlockFormat::kQ8_0, 2};
  Result<QuantWeight> w = QuantWeight::pack({&part, 1}, 48, WeightLayout::kPlain, "layer 3 o_proj");
  ASSERT_FALSE(w.is_ok());
  EXPECT_NE(w.status().message().find("layer 3 o_proj"), std::string::npos);
  EXPECT_NE(w.status().message().find("multiple of 32"), std::string::npos);
  const QuantSource odd{src.data(), BlockFormat::kQ8_0, 3};
  std::vector<uint8_t> more(34 * 6, 0);
  const QuantSource odd_rows{more.data(), BlockFormat::kQ8_0, 3};
  EXPECT_FALSE(QuantWeight::pack({&odd_rows, 1}, 64, WeightLayout::kGateUp).is_ok());
  (void)odd;
}

struct Case {
  BlockFormat format;
  int m, n, k;
  bool gate_up, bias, residual;
};

// y = epilogue(x · Wᵀ) in double from the file's values.
std::vector<float> reference(const Case& c, const std::vector<float>& w,
                             const std::vector<float>& x, const std::vector<float>& bias,
                             const std::vector<float>& residual) {
  const int out_cols = c.gate_up ? c.n / 2 : c.n;
  std::vector<float> y(static_cast<size_t>(c.m) * out_cols);
  auto dot = [&](int r, int row) {
    double s = 0;
    for (int i = 0; i < c.k; ++i) s += double(x[size_t(r) * c.k + i]) * w[size_t(row) * c.k + i];
    return s + (c.bias ? bias[row] : 0.0);
  };
  for (int r = 0; r < c.m; ++r) {
    for (int j = 0; j < out_cols; ++j) {
      double v;
      if (c.gate_up) {
        const double g = dot(r, j), u = dot(r, out_cols + j);
        v = g / (1.0 + std::exp(-g)) * u;
      } else {
        v = dot(r, j) + (c.residual ? residual[size_t(r) * out_cols + j] : 0.0);
      }
      y[size_t(r) * out_cols + j] = float(v);
    }
  }
  return y;
}

std::vector<float> run(const QuantWeight& w, const Case& c, const std::vector<float>& x,
                       const std::vector<float>& bias, const std::vector<float>& residual,
                       WorkerPool& pool, QuantGemmIsa isa, const GemmTileConfig& config) {
  const int out_cols = w.out_cols();
  std::vector<float> y = c.residual ? residual : std::vector<float>(size_t(c.m) * out_cols, 0.0f);
  GemmArgs args{.m = c.m, .x = x.data(), .y = y.data()};
  if (c.bias) args.bias = bias.data();
  if (c.residual) args.residual = y.data();
  quant_gemm_with(w, args, pool, isa, config);
  return y;
}

std::vector<QuantGemmIsa> isas() {
  std::vector<QuantGemmIsa> v{QuantGemmIsa::kScalar};
  if (quant_gemm_isa_supported(QuantGemmIsa::kAvx2)) v.push_back(QuantGemmIsa::kAvx2);
  if (quant_gemm_isa_supported(QuantGemmIsa::kAvx512Vnni)) v.push_back(QuantGemmIsa::kAvx512Vnni);
  return v;
}

TEST(QuantGemm, MatchesTheDequantizedReferenceAcrossShapes) {
  std::mt19937 rng(21);
  WorkerPool pool(WorkerPoolOptions{.num_workers = 2});
  const Case cases[] = {
      {BlockFormat::kQ8_0, 1, 64, 256, false, false, false},
      {BlockFormat::kQ8_0, 7, 80, 96, false, true, true},
      {BlockFormat::kQ4_0, 3, 33, 512, false, true, false},
      {BlockFormat::kQ4_0, 13, 128, 256, true, true, false},
      {BlockFormat::kQ4_1, 5, 48, 160, false, false, true},
      {BlockFormat::kQ5_0, 2, 200, 256, false, false, false},
      {BlockFormat::kQ5_1, 9, 64, 64, true, false, false},
      {BlockFormat::kQ4_K, 1, 96, 512, false, false, true},
      {BlockFormat::kQ4_K, 17, 64, 256, true, false, false},
      {BlockFormat::kQ5_K, 6, 50, 256, false, true, false},
      {BlockFormat::kQ6_K, 1, 72, 512, false, false, false},
      {BlockFormat::kQ6_K, 2, 136, 256, false, true, false},
      {BlockFormat::kQ6_K, 4, 72, 512, false, false, true},
      {BlockFormat::kQ6_K, 11, 48, 768, false, false, false},
      {BlockFormat::kQ6_K, 33, 40, 256, true, true, false},
      {BlockFormat::kBF16, 12, 32, 128, false, false, false},
  };
  for (const Case& c : cases) {
    const std::vector<uint8_t> src = random_rows(c.format, c.n, c.k, rng);
    const QuantSource part{src.data(), c.format, c.n};
    Result<QuantWeight> w = QuantWeight::pack(
        {&part, 1}, c.k, c.gate_up ? WeightLayout::kGateUp : WeightLayout::kPlain);
    ASSERT_TRUE(w.is_ok()) << w.status().message();
    const std::vector<float> x = testing::random_floats(size_t(c.m) * c.k, rng, 1.0f);
    const std::vector<float> bias = testing::random_floats(size_t(c.n), rng, 0.5f);
    const std::vector<float> res = testing::random_floats(size_t(c.m) * w->out_cols(), rng, 0.5f);
    const std::vector<float> want =
        reference(c, file_values(c.format, src, c.n, c.k), x, bias, res);
    const std::string what = std::string(ref::block_format_info(uint32_t(c.format))->name) +
                             " m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) +
                             " k=" + std::to_string(c.k) + (c.gate_up ? " gate_up" : "");
    const double tol = w->bits() == 4 ? 5e-2 : 1e-2;
    std::vector<float> first;
    for (QuantGemmIsa isa : isas()) {
      for (const auto& shape : kQuantGemmKernelShapes) {
        const GemmTileConfig config{shape[0], shape[1], 1 + c.m % 3};
        const std::vector<float> got = run(*w, c, x, bias, res, pool, isa, config);
        EXPECT_LT(rel_l2(got, want), tol) << what << " " << quant_gemm_isa_name(isa);
        if (first.empty()) first = got;
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_TRUE(testing::same_bits(got[i], first[i]))
              << what << " " << quant_gemm_isa_name(isa) << " tile " << config.to_string()
              << " differs bitwise at " << i;
        }
      }
    }
  }
}

TEST(QuantGemm, ARowIsTheSameAloneAndInAnyBatch) {
  std::mt19937 rng(31);
  const int n = 96, k = 256, m = 23;
  for (BlockFormat f : {BlockFormat::kQ4_K, BlockFormat::kQ8_0, BlockFormat::kQ6_K}) {
    const std::vector<uint8_t> src = random_rows(f, n, k, rng);
    const QuantSource part{src.data(), f, n};
    Result<QuantWeight> w = QuantWeight::pack({&part, 1}, k);
    ASSERT_TRUE(w.is_ok());
    const std::vector<float> x = testing::random_floats(size_t(m) * k, rng, 2.0f);
    for (int workers : {1, 2, 3}) {
      WorkerPool pool(WorkerPoolOptions{.num_workers = workers});
      std::vector<float> batch(size_t(m) * n);
      quant_gemm(*w, {.m = m, .x = x.data(), .y = batch.data()}, pool);
      for (int r = 0; r < m; r += 5) {
        std::vector<float> alone(n);
        quant_gemm(*w, {.m = 1, .x = x.data() + size_t(r) * k, .y = alone.data()}, pool);
        for (int j = 0; j < n; ++j) {
          ASSERT_TRUE(testing::same_bits(alone[j], batch[size_t(r) * n + j]))
              << "row " << r << " col " << j << " workers " << workers;
        }
      }
    }
  }
}

TEST(QuantGemm, DefaultMBlockFillsHalfOfL2) {
  // M = 256, K = 2048: 4-row tiles of 8 KiB of codes each.
  EXPECT_EQ(default_quant_gemm_config(256, 2048, 1L << 20).m_block, 64);    // 512 KiB
  EXPECT_EQ(default_quant_gemm_config(256, 2048, 2L << 20).m_block, 128);   // 1 MiB
  EXPECT_EQ(default_quant_gemm_config(256, 2048, 32L << 20).m_block, 128);  // at most 1 MiB
  EXPECT_EQ(default_quant_gemm_config(256, 2048, 128L << 10).m_block, 16);  // at least 128 KiB
  EXPECT_EQ(default_quant_gemm_config(256, 2048, 0).m_block, 16);           // unknown: 128 KiB
  EXPECT_EQ(default_quant_gemm_config(256, 1 << 20, 1L << 20).m_block, 1);  // never 0
  EXPECT_EQ(default_quant_gemm_config(256, 2048).m_block,
            default_quant_gemm_config(256, 2048, cpu_features().l2_cache_bytes).m_block);
}

TEST(QuantGemm, ActivationQuantizersAgreeBitwise) {
  if (!quant_gemm_isa_supported(QuantGemmIsa::kAvx512Vnni)) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 rng(41);
  const int m = 9, k = 320;
  std::vector<float> x = testing::random_floats(size_t(m) * k, rng, 3.0f);
  for (int i = 0; i < 32; ++i) x[size_t(2) * k + i] = 0.0f;  // an all-zero group
  x[5] = 1e-30f;                                             // a tiny one
  std::vector<int8_t> q1(size_t(m) * k), q2(q1.size());
  const size_t g = size_t(m) * (k / 32);
  std::vector<float> s1(g), s2(g), ss1(g), ss2(g);
  std::vector<int32_t> sum1(g), sum2(g), half1(g), half2(g);
  cpu::detail::quantize_rows_scalar(
      x.data(), k, m, k, {q1.data(), k, s1.data(), sum1.data(), ss1.data(), half1.data(), k / 32});
  cpu::detail::quantize_rows_avx512(
      x.data(), k, m, k, {q2.data(), k, s2.data(), sum2.data(), ss2.data(), half2.data(), k / 32});
  EXPECT_EQ(q1, q2);
  EXPECT_EQ(sum1, sum2);
  EXPECT_EQ(half1, half2);
  for (size_t i = 0; i < g; ++i) {
    ASSERT_TRUE(testing::same_bits(s1[i], s2[i]));
    ASSERT_TRUE(testing::same_bits(ss1[i], ss2[i]));
  }
}

}  // namespace
}  // namespace xy::cpu
