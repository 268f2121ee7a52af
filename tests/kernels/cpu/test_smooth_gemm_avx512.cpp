// The AVX-512 SmoothGEMM path: accuracy against xy::ref::linear, bitwise agreement with the
// scalar path, bitwise batch invariance and virtual padding, over every AVX-512 kernel shape
// (the portable ones and the wide 32-register tiles); and the opt-in vdpbf16ps mode against the
// reference on bf16-rounded activations. Skipped on CPUs without the instructions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/check.h"
#include "gemm_test_util.h"
#include "kernels/cpu/gemm_tuner.h"
#include "kernels/cpu/smooth_gemm.h"

namespace xy::cpu {
namespace {

using testing::random_floats;
using testing::random_weight;
using testing::rel_l2;
using testing::same_bits;

#define XY_REQUIRE_AVX512()                  \
  if (!gemm_isa_supported(GemmIsa::kAvx512)) \
  GTEST_SKIP() << "CPU has no AVX-512 "      \
                  "(f+bw+vl)"

#define XY_REQUIRE_AVX512_BF16() \
  if (!gemm_isa_supported(GemmIsa::kAvx512Bf16)) GTEST_SKIP() << "CPU has no AVX-512 BF16"

float canary() {
  constexpr uint32_t kBits = 0x7fc0beefu;
  float f;
  std::memcpy(&f, &kBits, 4);
  return f;
}

struct Shape {
  int n_rows, k;
  WeightLayout layout;
};

// Ragged N (not a multiple of 16 or of 64) and K (odd, prime), plain and gate-up.
constexpr Shape kShapes[] = {
    {37, 19, WeightLayout::kPlain},   {100, 77, WeightLayout::kPlain},
    {130, 257, WeightLayout::kPlain}, {16, 8, WeightLayout::kPlain},
    {74, 45, WeightLayout::kGateUp},  {258, 64, WeightLayout::kGateUp},
};

constexpr int kMs[] = {1, 2, 3, 7, 15, 16, 17, 31, 64, 100, 255, 512};

// y = gemm(x) on the AVX-512 path with every epilogue input the case asks for.
struct Problem {
  PackedWeight w;
  std::vector<uint8_t> w_src;  // [n_rows, k] in `dtype` (HF layout)
  DType dtype;
  std::vector<float> x, bias, residual;
};

Problem make_problem(const Shape& s, DType dtype, int max_m, std::mt19937& rng) {
  Problem p;
  p.dtype = dtype;
  p.w_src = random_weight(s.n_rows, s.k, dtype, rng);
  auto packed = PackedWeight::pack(p.w_src.data(), dtype, s.n_rows, s.k, dtype, s.layout);
  XY_CHECK_MSG(packed.is_ok(), "pack failed");
  p.w = std::move(*packed);
  p.x = random_floats(static_cast<size_t>(max_m) * s.k, rng);
  p.bias = random_floats(static_cast<size_t>(s.n_rows), rng);
  p.residual = random_floats(static_cast<size_t>(max_m) * p.w.out_cols(), rng);
  return p;
}

std::vector<float> run(const Problem& p, int m, bool bias, bool residual, WorkerPool& pool,
                       GemmIsa isa, const GemmTileConfig& config) {
  std::vector<float> y(static_cast<size_t>(m) * p.w.out_cols(), canary());
  GemmArgs args;
  args.m = m;
  args.x = p.x.data();
  args.y = y.data();
  args.bias = bias ? p.bias.data() : nullptr;
  args.residual = residual ? p.residual.data() : nullptr;
  smooth_gemm_with(p.w, args, pool, isa, config);
  return y;
}

TEST(SmoothGemmAvx512, MatchesReferenceAndScalarOnEveryShapeMAndEpilogue) {
  XY_REQUIRE_AVX512();
  std::mt19937 rng(512);
  WorkerPool pool({.num_workers = 2, .pin = false});
  const auto kernels = gemm_kernel_shapes(GemmIsa::kAvx512);
  int checked = 0;
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    const double tol = dtype == DType::kF32 ? 1e-5 : 1e-2;
    for (const Shape& s : kShapes) {
      const Problem p = make_problem(s, dtype, 512, rng);
      std::vector<int> cols(static_cast<size_t>(p.w.out_cols()));
      for (size_t i = 0; i < cols.size(); ++i) cols[i] = static_cast<int>(i);
      for (int m : kMs) {
        // Rotate kernels and epilogues so every combination is hit across the cases.
        const auto& ks = kernels[static_cast<size_t>(checked) % kernels.size()];
        const GemmTileConfig config{ks[0], ks[1], 1 + checked % 5};
        const bool plain = s.layout == WeightLayout::kPlain;
        const bool bias = checked % 2 == 0;
        const bool residual = plain && checked % 3 != 0;
        ++checked;
        SCOPED_TRACE(std::to_string(s.n_rows) + "x" + std::to_string(s.k) + " " +
                     std::string(dtype_name(dtype)) + " " +
                     std::string(weight_layout_name(s.layout)) + " m=" + std::to_string(m) + " " +
                     config.to_string() + (bias ? " +bias" : "") + (residual ? " +residual" : ""));
        const std::vector<float> got = run(p, m, bias, residual, pool, GemmIsa::kAvx512, config);
        const std::vector<float> want = testing::reference_columns(
            p.x.data(), m, s.k, s.k, p.w_src.data(), dtype, s.n_rows, !plain,
            bias ? p.bias.data() : nullptr, residual ? p.residual.data() : nullptr, p.w.out_cols(),
            cols);
        EXPECT_LT(rel_l2(got, want), tol);
        // Same FMA chains and epilogue sequence as the scalar path: bit-identical.
        const std::vector<float> scalar = run(p, m, bias, residual, pool, GemmIsa::kScalar,
                                              default_gemm_config(m, s.k, p.w.num_panels(), 2));
        size_t diff = 0;
        for (size_t i = 0; i < got.size(); ++i) diff += same_bits(got[i], scalar[i]) ? 0 : 1;
        EXPECT_EQ(diff, 0u) << "elements differing from the scalar path";
      }
    }
  }
  EXPECT_GT(checked, 100);
}

// Row i computed alone (M = 1) equals, bit for bit, row i inside M = 37, under every AVX-512
// kernel, task order and worker count.
void expect_rows_batch_invariant(GemmIsa isa) {
  std::mt19937 rng(37);
  WorkerPool pool1({.num_workers = 1, .pin = false});
  WorkerPool pool2({.num_workers = 2, .pin = false});
  constexpr int kM = 37;
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    for (const Shape& s : {kShapes[1], kShapes[4]}) {
      const Problem p = make_problem(s, dtype, kM, rng);
      const bool plain = s.layout == WeightLayout::kPlain;
      const int out = p.w.out_cols();
      std::vector<std::vector<float>> alone(kM);
      for (int r = 0; r < kM; ++r) {
        Problem one;
        one.x.assign(p.x.begin() + static_cast<ptrdiff_t>(r) * s.k,
                     p.x.begin() + static_cast<ptrdiff_t>(r + 1) * s.k);
        std::vector<float> y(static_cast<size_t>(out));
        GemmArgs args;
        args.m = 1;
        args.x = one.x.data();
        args.y = y.data();
        args.bias = p.bias.data();
        args.residual = plain ? p.residual.data() + static_cast<size_t>(r) * out : nullptr;
        smooth_gemm_with(p.w, args, pool1, isa, {1, 4, 1});
        alone[r] = y;
      }
      for (const auto& ks : gemm_kernel_shapes(GemmIsa::kAvx512)) {
        for (int mb : {1, 3, 1000}) {
          for (WorkerPool* pool : {&pool1, &pool2}) {
            const GemmTileConfig c{ks[0], ks[1], mb};
            const std::vector<float> y = run(p, kM, true, plain, *pool, isa, c);
            for (int r = 0; r < kM; ++r) {
              for (int j = 0; j < out; ++j) {
                ASSERT_TRUE(same_bits(y[static_cast<size_t>(r) * out + j], alone[r][j]))
                    << dtype_name(dtype) << " " << weight_layout_name(s.layout) << " "
                    << c.to_string() << " workers " << pool->num_workers() << " row " << r
                    << " col " << j;
              }
            }
          }
        }
      }
    }
  }
}

TEST(SmoothGemmAvx512, RowIsBitwiseTheSameAloneAndInsideABatch) {
  XY_REQUIRE_AVX512();
  expect_rows_batch_invariant(GemmIsa::kAvx512);
}

TEST(SmoothGemmAvx512Bf16, RowIsBitwiseTheSameAloneAndInsideABatch) {
  XY_REQUIRE_AVX512_BF16();
  expect_rows_batch_invariant(GemmIsa::kAvx512Bf16);
}

// Virtual padding: rows >= M (guard rows after y) and columns between out_cols and ldy are
// never written, and x beyond M rows is never needed (it holds NaN here).
void expect_no_writes_outside(GemmIsa isa) {
  std::mt19937 rng(99);
  WorkerPool pool({.num_workers = 2, .pin = false});
  constexpr int kGuardRows = 16;
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    for (const Shape& s : {kShapes[0], kShapes[2], kShapes[4]}) {
      Problem p = make_problem(s, dtype, 40, rng);
      const bool plain = s.layout == WeightLayout::kPlain;
      const int out = p.w.out_cols();
      const int64_t ldy = out + 5;
      for (const auto& ks : gemm_kernel_shapes(GemmIsa::kAvx512)) {
        for (int m : {1, 5, 13, 29}) {
          // x rows past m are NaN: a kernel reading them into a stored row would show it.
          std::vector<float> x(p.x.begin(), p.x.begin() + static_cast<ptrdiff_t>(m) * s.k);
          x.resize(static_cast<size_t>(m + kGuardRows) * s.k, std::nanf(""));
          std::vector<float> y(static_cast<size_t>(m + kGuardRows) * ldy, canary());
          GemmArgs args;
          args.m = m;
          args.x = x.data();
          args.y = y.data();
          args.ldy = ldy;
          args.bias = p.bias.data();
          args.residual = plain ? p.residual.data() : nullptr;
          args.ldr = out;
          smooth_gemm_with(p.w, args, pool, isa, {ks[0], ks[1], 2});
          for (int r = 0; r < m + kGuardRows; ++r) {
            for (int64_t j = 0; j < ldy; ++j) {
              const float v = y[static_cast<size_t>(r * ldy + j)];
              if (r < m && j < out) {
                ASSERT_FALSE(std::isnan(v)) << "row " << r << " col " << j;
              } else {
                ASSERT_TRUE(same_bits(v, canary()))
                    << "wrote row " << r << " col " << j << " with m " << m << " kernel " << ks[0]
                    << "x" << 16 * ks[1];
              }
            }
          }
        }
      }
    }
  }
}

TEST(SmoothGemmAvx512, NeverWritesOutsideTheValidRowsAndColumns) {
  XY_REQUIRE_AVX512();
  expect_no_writes_outside(GemmIsa::kAvx512);
}

TEST(SmoothGemmAvx512Bf16, NeverWritesOutsideTheValidRowsAndColumns) {
  XY_REQUIRE_AVX512_BF16();
  expect_no_writes_outside(GemmIsa::kAvx512Bf16);
}

// The opt-in vdpbf16ps mode computes x rounded to bf16 times the bf16 weights: close to the
// reference on the rounded x (only the f32 summation order differs), within bf16 tolerance of
// the reference on x itself, and identical to the AVX-512 path on f32 panels (its fallback).
TEST(SmoothGemmAvx512Bf16, MatchesReferenceOnBf16RoundedActivations) {
  XY_REQUIRE_AVX512_BF16();
  std::mt19937 rng(1616);
  WorkerPool pool({.num_workers = 2, .pin = false});
  const auto kernels = gemm_kernel_shapes(GemmIsa::kAvx512Bf16);
  int checked = 0;
  for (const Shape& s : kShapes) {
    const Problem p = make_problem(s, DType::kBF16, 512, rng);
    const Problem pf = make_problem(s, DType::kF32, 512, rng);
    std::vector<int> cols(static_cast<size_t>(p.w.out_cols()));
    for (size_t i = 0; i < cols.size(); ++i) cols[i] = static_cast<int>(i);
    std::vector<float> x_rounded(p.x.size());
    for (size_t i = 0; i < p.x.size(); ++i) x_rounded[i] = bf16_to_f32(f32_to_bf16(p.x[i]));
    const bool plain = s.layout == WeightLayout::kPlain;
    for (int m : kMs) {
      const auto& ks = kernels[static_cast<size_t>(checked) % kernels.size()];
      const GemmTileConfig config{ks[0], ks[1], 1 + checked % 5};
      const bool bias = checked % 2 == 0;
      const bool residual = plain && checked % 3 != 0;
      ++checked;
      SCOPED_TRACE(std::to_string(s.n_rows) + "x" + std::to_string(s.k) + " " +
                   std::string(weight_layout_name(s.layout)) + " m=" + std::to_string(m) + " " +
                   config.to_string());
      const std::vector<float> got = run(p, m, bias, residual, pool, GemmIsa::kAvx512Bf16, config);
      auto reference = [&](const std::vector<float>& x) {
        return testing::reference_columns(x.data(), m, s.k, s.k, p.w_src.data(), DType::kBF16,
                                          s.n_rows, !plain, bias ? p.bias.data() : nullptr,
                                          residual ? p.residual.data() : nullptr, p.w.out_cols(),
                                          cols);
      };
      EXPECT_LT(rel_l2(got, reference(x_rounded)), 1e-5);
      EXPECT_LT(rel_l2(got, reference(p.x)), 1e-2);
      const std::vector<float> f32_mode =
          run(pf, m, bias, residual, pool, GemmIsa::kAvx512Bf16, config);
      const std::vector<float> f32_avx512 =
          run(pf, m, bias, residual, pool, GemmIsa::kAvx512, config);
      EXPECT_EQ(std::memcmp(f32_mode.data(), f32_avx512.data(), f32_mode.size() * 4), 0);
    }
  }
}

// k-blocking (GemmTileConfig::kc) parks the vdpbf16ps accumulators between k-blocks and never
// changes a bit: every kc (dividing K or not, odd K's last pair in the last block), m_block and
// worker count gives the unblocked result. K up to 2051 so blocks of 512..2048 are exercised; N
// ragged; plain with bias and residual, and gate-up.
TEST(SmoothGemmAvx512Bf16, KBlockingNeverChangesABit) {
  XY_REQUIRE_AVX512_BF16();
  std::mt19937 rng(2048);
  WorkerPool pool1({.num_workers = 1, .pin = false});
  WorkerPool pool2({.num_workers = 2, .pin = false});
  const Shape shapes[] = {{70, 2051, WeightLayout::kPlain},
                          {48, 1024, WeightLayout::kPlain},
                          {66, 1537, WeightLayout::kGateUp}};
  int checked = 0;
  for (const Shape& s : shapes) {
    const Problem p = make_problem(s, DType::kBF16, 61, rng);
    const bool plain = s.layout == WeightLayout::kPlain;
    for (int m : {1, 5, 29, 61}) {
      for (const auto& ks : gemm_kernel_shapes(GemmIsa::kAvx512Bf16)) {
        const std::vector<float> unblocked =
            run(p, m, true, plain, pool1, GemmIsa::kAvx512Bf16, {ks[0], ks[1], 1, 0});
        for (int kc : {2, 64, 510, 512, 1024, 2048, 4096}) {
          for (int mb : {1, 3, 1000}) {
            WorkerPool& pool = (checked++ % 2 == 0) ? pool1 : pool2;
            const GemmTileConfig c{ks[0], ks[1], mb, kc};
            const std::vector<float> y = run(p, m, true, plain, pool, GemmIsa::kAvx512Bf16, c);
            ASSERT_EQ(std::memcmp(y.data(), unblocked.data(), y.size() * 4), 0)
                << s.n_rows << "x" << s.k << " m " << m << " " << c.to_string() << " workers "
                << pool.num_workers();
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

// Configs differing only in kc are different configs (the tuner keeps both) and name it.
TEST(SmoothGemmAvx512Bf16, DefaultBlocksLargeKAndTunerTriesKBlocks) {
  const GemmTileConfig big = default_gemm_config(256, 8192, 128, 2, GemmIsa::kAvx512Bf16);
  EXPECT_GT(big.kc, 0);
  EXPECT_EQ(big.kc % 2, 0);
  EXPECT_NE(big.to_string().find("/kc"), std::string::npos);
  EXPECT_EQ(default_gemm_config(256, 2048, 128, 2, GemmIsa::kAvx512Bf16).kc, 0);
  EXPECT_EQ(default_gemm_config(256, 8192, 128, 2, GemmIsa::kAvx512).kc, 0);  // f32 path: none
  bool blocked = false;
  for (const GemmTileConfig& c : gemm_tune_candidates(256, 8192, 128, 2, GemmIsa::kAvx512Bf16)) {
    EXPECT_LT(c.kc, 8192);
    blocked = blocked || c.kc > 0;
  }
  EXPECT_TRUE(blocked);
  for (const GemmTileConfig& c : gemm_tune_candidates(256, 8192, 128, 2, GemmIsa::kAvx512))
    EXPECT_EQ(c.kc, 0);
}

// Weights larger than the last-level cache stream from DRAM on every m-block, so the bf16
// path takes m-blocks of 4 MiB of x rows for them: llama-3.2-1b's gate_up (2048 x 16384, 64 MiB)
// at M = 256 or 512 is one block; its 8 MiB o projection keeps 256 KiB blocks (64 rows).
TEST(SmoothGemmAvx512Bf16, DefaultBlocksStreamedWeightsInFewerPasses) {
  const int k = 2048;
  const int gate_up_panels = 16384 / 16, o_panels = 2048 / 16;
  ASSERT_GT(2L * 16 * gate_up_panels * k, kCacheResidentWeightBytes);
  ASSERT_LE(2L * 16 * o_panels * k, kCacheResidentWeightBytes);
  for (int m : {256, 512}) {
    const GemmTileConfig c = default_gemm_config(m, k, gate_up_panels, 2, GemmIsa::kAvx512Bf16);
    EXPECT_GE(c.m_block * c.mr, m) << m;
  }
  const GemmTileConfig big = default_gemm_config(4096, k, gate_up_panels, 2, GemmIsa::kAvx512Bf16);
  EXPECT_EQ(big.m_block * big.mr, 4 * 1024 * 1024 / (2 * k));  // 1024 rows of 8x32 tiles
  const GemmTileConfig o = default_gemm_config(256, k, o_panels, 2, GemmIsa::kAvx512Bf16);
  EXPECT_EQ(o.m_block * o.mr, 256 * 1024 / (2 * k));
  // The f32 tiles keep their blocks (not measured with larger ones).
  const GemmTileConfig f32 = default_gemm_config(256, k, gate_up_panels, 2, GemmIsa::kAvx512);
  EXPECT_LT(f32.m_block * f32.mr, 256);
}

TEST(SmoothGemmAvx512, DefaultConfigsUseAvx512KernelsAndBestIsaPrefersIt) {
  for (int m : {1, 2, 3, 4, 5, 7, 13, 16, 17, 28, 64, 100, 512, 4096}) {
    for (int panels : {1, 8, 60, 3000}) {
      const GemmTileConfig c = default_gemm_config(m, 576, panels, 2, GemmIsa::kAvx512);
      EXPECT_TRUE(is_supported_gemm_kernel(GemmIsa::kAvx512, c.mr, c.np)) << m;
      for (const GemmTileConfig& cand : gemm_tune_candidates(m, 576, panels, 2, GemmIsa::kAvx512))
        EXPECT_TRUE(is_supported_gemm_kernel(GemmIsa::kAvx512, cand.mr, cand.np)) << m;
    }
  }
  for (const auto& s : kGemmKernelShapes)
    EXPECT_TRUE(is_supported_gemm_kernel(GemmIsa::kAvx512, s[0], s[1]));
  EXPECT_FALSE(is_supported_gemm_kernel(GemmIsa::kAvx2, 14, 2));
  EXPECT_STREQ(gemm_isa_name(GemmIsa::kAvx512), "avx512");
  EXPECT_STREQ(gemm_isa_name(GemmIsa::kAvx512Bf16), "avx512bf16");
  for (GemmIsa isa : {GemmIsa::kScalar, GemmIsa::kAvx2, GemmIsa::kAvx512, GemmIsa::kAvx512Bf16})
    EXPECT_EQ(gemm_isa_from_name(gemm_isa_name(isa)), isa);
  EXPECT_FALSE(gemm_isa_from_name("avx512_bf16").has_value());
  EXPECT_FALSE(gemm_isa_from_name("").has_value());
  XY_REQUIRE_AVX512();
  EXPECT_EQ(best_gemm_isa(), GemmIsa::kAvx512);  // never the numerics-changing bf16 mode
}

}  // namespace
}  // namespace xy::cpu
