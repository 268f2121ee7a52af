// Batch invariance, virtual padding and ISA agreement of SmoothGEMM, all bitwise: a row's
// output must not depend on M, on where the row sits in the batch, on the tile config, on the
// number of workers or on the ISA path.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gemm_test_util.h"
#include "kernels/cpu/smooth_gemm.h"

namespace xy::cpu {
namespace {

using testing::random_floats;
using testing::random_weight;
using testing::same_bits;

constexpr uint32_t kCanaryBits = 0x7fc0beefu;

float canary() {
  float f;
  std::memcpy(&f, &kCanaryBits, 4);
  return f;
}

std::vector<GemmTileConfig> all_configs() {
  std::vector<GemmTileConfig> out;
  for (const auto& s : kGemmKernelShapes)
    for (int mb : {1, 2, 7, 1000}) out.push_back({s[0], s[1], mb});
  return out;
}

struct Case {
  int n_rows, k;
  DType dtype;
  WeightLayout layout;
  bool bias, residual;
  std::string name() const {
    return std::to_string(n_rows) + "x" + std::to_string(k) + " " + std::string(dtype_name(dtype)) +
           " " + std::string(weight_layout_name(layout)) + (bias ? " +bias" : "") +
           (residual ? " +residual" : "");
  }
};

// Computes y = gemm(rows `src_rows` of x_pool) with the given knobs; y has row stride ldy and
// the residual rows are taken from res_pool with the same row indices.
std::vector<float> run(const PackedWeight& w, const std::vector<float>& x_pool,
                       const std::vector<float>& res_pool, const std::vector<float>& bias,
                       const Case& c, const std::vector<int>& src_rows, WorkerPool& pool,
                       GemmIsa isa, const GemmTileConfig& config) {
  const int m = static_cast<int>(src_rows.size());
  const int out = w.out_cols();
  std::vector<float> x(static_cast<size_t>(m) * c.k), res(static_cast<size_t>(m) * out);
  for (int i = 0; i < m; ++i) {
    std::memcpy(&x[i * c.k], &x_pool[src_rows[i] * c.k], c.k * 4);
    std::memcpy(&res[i * out], &res_pool[src_rows[i] * out], out * 4);
  }
  std::vector<float> y(static_cast<size_t>(m) * out, canary());
  GemmArgs args;
  args.m = m;
  args.x = x.data();
  args.y = y.data();
  args.bias = c.bias ? bias.data() : nullptr;
  args.residual = c.residual ? res.data() : nullptr;
  smooth_gemm_with(w, args, pool, isa, config);
  return y;
}

TEST(SmoothGemmInvariance, RowIsBitwiseTheSameInEveryBatchConfigAndWorkerCount) {
  std::mt19937 rng(7);
  const Case cases[] = {
      {100, 77, DType::kBF16, WeightLayout::kPlain, true, true},
      {100, 77, DType::kF32, WeightLayout::kPlain, false, false},
      {74, 45, DType::kBF16, WeightLayout::kGateUp, true, false},
  };
  WorkerPool pool1({.num_workers = 1, .pin = false});
  WorkerPool pool2({.num_workers = 2, .pin = false});
  WorkerPool pool3({.num_workers = 3, .pin = false});
  WorkerPool* pools[] = {&pool1, &pool2, &pool3};
  const std::vector<GemmTileConfig> configs = all_configs();
  constexpr int kPoolRows = 300;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name());
    const std::vector<uint8_t> w_src = random_weight(c.n_rows, c.k, c.dtype, rng);
    auto w = PackedWeight::pack(w_src.data(), c.dtype, c.n_rows, c.k, c.dtype, c.layout);
    ASSERT_TRUE(w.is_ok());
    const int out = w->out_cols();
    const std::vector<float> x_pool = random_floats(static_cast<size_t>(kPoolRows) * c.k, rng);
    const std::vector<float> res_pool = random_floats(static_cast<size_t>(kPoolRows) * out, rng);
    const std::vector<float> bias = random_floats(static_cast<size_t>(c.n_rows), rng);

    // Every row alone (M = 1) with the default config: the values all batches must reproduce.
    std::vector<float> alone(static_cast<size_t>(kPoolRows) * out);
    for (int r = 0; r < kPoolRows; ++r) {
      const std::vector<float> y = run(*w, x_pool, res_pool, bias, c, {r}, pool1, best_gemm_isa(),
                                       choose_gemm_config(*w, 1, 1, nullptr));
      std::memcpy(&alone[r * out], y.data(), out * 4);
    }
    std::uniform_int_distribution<int> start_dist(0, kPoolRows - 1);
    for (int m = 2; m <= kPoolRows; ++m) {
      const int start = start_dist(rng);  // the batch is rows start, start+1, ... (wrapping)
      std::vector<int> rows(static_cast<size_t>(m));
      for (int i = 0; i < m; ++i) rows[i] = (start + i) % kPoolRows;
      const GemmTileConfig& config = configs[m % configs.size()];
      WorkerPool& pool = *pools[m % 3];
      // The scalar path is slow (software fma): every 16th batch only.
      const GemmIsa isa = m % 16 == 0 ? GemmIsa::kScalar : best_gemm_isa();
      const std::vector<float> y = run(*w, x_pool, res_pool, bias, c, rows, pool, isa, config);
      int mismatches = 0;
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < out; ++j)
          mismatches += !same_bits(y[i * out + j], alone[rows[i] * out + j]);
      ASSERT_EQ(mismatches, 0) << "M=" << m << " config " << config.to_string() << " workers "
                               << pool.num_workers() << " isa " << gemm_isa_name(isa);
    }
  }
}

TEST(SmoothGemmInvariance, ModelShapeRowsMatchAloneBitwise) {
  std::mt19937 rng(8);
  const Case c{576, 1536, DType::kBF16, WeightLayout::kPlain, false, true};  // smollm2 down
  const std::vector<uint8_t> w_src = random_weight(c.n_rows, c.k, c.dtype, rng);
  auto w = PackedWeight::pack(w_src.data(), c.dtype, c.n_rows, c.k, c.dtype, c.layout);
  ASSERT_TRUE(w.is_ok());
  constexpr int kPoolRows = 300;
  const std::vector<float> x_pool = random_floats(static_cast<size_t>(kPoolRows) * c.k, rng);
  const std::vector<float> res_pool = random_floats(static_cast<size_t>(kPoolRows) * c.n_rows, rng);
  WorkerPool pool({.num_workers = 2, .pin = false});
  for (int m : {5, 17, 64, 300}) {
    std::vector<int> rows(static_cast<size_t>(m));
    for (int i = 0; i < m; ++i) rows[i] = (i * 37 + m) % kPoolRows;
    const std::vector<float> y = run(*w, x_pool, res_pool, {}, c, rows, pool, best_gemm_isa(),
                                     choose_gemm_config(*w, m, 2, nullptr));
    for (int i : {0, m / 2, m - 1}) {
      const std::vector<float> one = run(*w, x_pool, res_pool, {}, c, {rows[i]}, pool,
                                         best_gemm_isa(), choose_gemm_config(*w, 1, 2, nullptr));
      for (int j = 0; j < c.n_rows; ++j)
        ASSERT_TRUE(same_bits(y[i * c.n_rows + j], one[j])) << "M=" << m << " row " << i;
    }
  }
}

TEST(SmoothGemmVirtualPadding, NothingOutsideTheValidRowsAndColumnsIsWritten) {
  std::mt19937 rng(9);
  WorkerPool pool({.num_workers = 2, .pin = false});
  for (WeightLayout layout : {WeightLayout::kPlain, WeightLayout::kGateUp}) {
    for (DType dtype : {DType::kF32, DType::kBF16}) {
      const int n_rows = 58, k = 19;  // 58 plain columns (3 full + 1 partial panel), or 29 gate-up
      const std::vector<uint8_t> w_src = random_weight(n_rows, k, dtype, rng);
      auto w = PackedWeight::pack(w_src.data(), dtype, n_rows, k, dtype, layout);
      ASSERT_TRUE(w.is_ok());
      const int out = w->out_cols();
      const int64_t ldy = out + 5;
      for (const GemmTileConfig& config : all_configs()) {
        for (int m = 0; m <= 13; ++m) {
          const std::vector<float> x = random_floats(static_cast<size_t>(m + 1) * k, rng);
          std::vector<float> y(static_cast<size_t>(m + 3) * ldy, canary());
          GemmArgs args;
          args.m = m;
          args.x = x.data();
          args.y = y.data();
          args.ldy = ldy;
          smooth_gemm_with(*w, args, pool, best_gemm_isa(), config);
          for (int r = 0; r < m + 3; ++r) {
            for (int64_t j = 0; j < ldy; ++j) {
              const bool valid = r < m && j < out;
              ASSERT_EQ(same_bits(y[r * ldy + j], canary()), !valid)
                  << weight_layout_name(layout) << " " << config.to_string() << " M=" << m
                  << " row " << r << " col " << j;
            }
          }
        }
      }
    }
  }
}

TEST(SmoothGemmIsa, Avx2MatchesScalarBitwise) {
  if (!gemm_isa_supported(GemmIsa::kAvx2)) GTEST_SKIP() << "CPU has no AVX2+FMA+F16C";
  std::mt19937 rng(10);
  WorkerPool pool({.num_workers = 2, .pin = false});
  for (const Case& c : {Case{53, 29, DType::kF32, WeightLayout::kPlain, true, true},
                        Case{53, 29, DType::kBF16, WeightLayout::kPlain, true, false},
                        Case{66, 31, DType::kBF16, WeightLayout::kGateUp, true, false},
                        Case{66, 31, DType::kF32, WeightLayout::kGateUp, false, false}}) {
    SCOPED_TRACE(c.name());
    const std::vector<uint8_t> w_src = random_weight(c.n_rows, c.k, c.dtype, rng);
    auto w = PackedWeight::pack(w_src.data(), c.dtype, c.n_rows, c.k, c.dtype, c.layout);
    ASSERT_TRUE(w.is_ok());
    const int m = 11;
    // Gate values up to +-40 exercise the exp clamp region of SiLU as well as its middle.
    const std::vector<float> x_pool = random_floats(static_cast<size_t>(m) * c.k, rng, 8.0f);
    const std::vector<float> res_pool = random_floats(static_cast<size_t>(m) * w->out_cols(), rng);
    const std::vector<float> bias = random_floats(static_cast<size_t>(c.n_rows), rng);
    std::vector<int> rows(m);
    for (int i = 0; i < m; ++i) rows[i] = i;
    for (const GemmTileConfig& config : all_configs()) {
      const auto a = run(*w, x_pool, res_pool, bias, c, rows, pool, GemmIsa::kAvx2, config);
      const auto s = run(*w, x_pool, res_pool, bias, c, rows, pool, GemmIsa::kScalar, config);
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_TRUE(same_bits(a[i], s[i]))
            << config.to_string() << " element " << i << ": " << a[i] << " vs " << s[i];
    }
  }
}

}  // namespace
}  // namespace xy::cpu
