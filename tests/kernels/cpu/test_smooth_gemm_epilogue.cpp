// SmoothGEMM epilogues and awkward sizes vs the reference (bias, residual, in-place residual,
// SiLU(gate)·up with and without bias), every micro-kernel, both ISA paths.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gemm_test_util.h"
#include "kernels/cpu/smooth_gemm.h"

namespace xy::cpu {
namespace {

using testing::random_floats;
using testing::random_weight;
using testing::reference_columns;
using testing::rel_l2;

TEST(SmoothGemmEpilogue, MatchesReferenceOnAwkwardSizes) {
  std::mt19937 rng(21);
  WorkerPool pool({.num_workers = 2, .pin = false});
  std::vector<GemmIsa> isas = {GemmIsa::kScalar};
  if (gemm_isa_supported(GemmIsa::kAvx2)) isas.push_back(GemmIsa::kAvx2);
  int checked = 0;
  for (WeightLayout layout : {WeightLayout::kPlain, WeightLayout::kGateUp}) {
    for (int n_rows : {2, 16, 34, 74}) {
      for (int k : {1, 3, 64, 131}) {
        for (DType dtype : {DType::kF32, DType::kBF16}) {
          const std::vector<uint8_t> w_src = random_weight(n_rows, k, dtype, rng);
          auto w = PackedWeight::pack(w_src.data(), dtype, n_rows, k, dtype, layout);
          ASSERT_TRUE(w.is_ok());
          const int out = w->out_cols();
          std::vector<int> cols(static_cast<size_t>(out));
          for (int j = 0; j < out; ++j) cols[j] = j;
          const std::vector<float> bias = random_floats(static_cast<size_t>(n_rows), rng);
          // 0: nothing, 1: bias, 2: residual, 3: bias + residual, 4: in-place residual.
          const int modes = layout == WeightLayout::kPlain ? 5 : 2;
          for (int mode = 0; mode < modes; ++mode) {
            for (const auto& shape : kGemmKernelShapes) {
              const GemmTileConfig config{shape[0], shape[1], 2};
              const GemmIsa isa = isas[checked % isas.size()];
              const int m = 1 + (checked * 7) % 14;
              ++checked;
              SCOPED_TRACE(std::string(weight_layout_name(layout)) + " " +
                           std::string(dtype_name(dtype)) + " N=" + std::to_string(n_rows) +
                           " K=" + std::to_string(k) + " M=" + std::to_string(m) + " mode " +
                           std::to_string(mode) + " " + config.to_string() + " " +
                           gemm_isa_name(isa));
              const std::vector<float> x = random_floats(static_cast<size_t>(m) * k, rng);
              const std::vector<float> res = random_floats(static_cast<size_t>(m) * out, rng);
              std::vector<float> y(static_cast<size_t>(m) * out, 0.0f);
              if (mode == 4) y = res;
              GemmArgs args;
              args.m = m;
              args.x = x.data();
              args.y = y.data();
              args.bias = (mode == 1 || mode == 3) ? bias.data() : nullptr;
              args.residual = mode == 4 ? y.data() : (mode >= 2 ? res.data() : nullptr);
              smooth_gemm_with(*w, args, pool, isa, config);
              const std::vector<float> want = reference_columns(
                  x.data(), m, k, k, w_src.data(), dtype, n_rows, layout == WeightLayout::kGateUp,
                  args.bias, mode >= 2 ? res.data() : nullptr, out, cols);
              ASSERT_LT(rel_l2(y, want), 1e-5);
            }
          }
        }
      }
    }
  }
}

TEST(SmoothGemmEpilogue, ZeroRowsIsANoOp) {
  std::mt19937 rng(22);
  const std::vector<uint8_t> w_src = random_weight(16, 8, DType::kF32, rng);
  auto w = PackedWeight::pack(w_src.data(), DType::kF32, 16, 8, DType::kF32);
  ASSERT_TRUE(w.is_ok());
  WorkerPool pool({.num_workers = 2, .pin = false});
  float y = 42.0f, x = 1.0f;
  GemmArgs args;
  args.m = 0;
  args.x = &x;
  args.y = &y;
  smooth_gemm(*w, args, pool);
  EXPECT_EQ(y, 42.0f);
}

}  // namespace
}  // namespace xy::cpu
