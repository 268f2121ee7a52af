// LoadOptions::gemm_isa: every SmoothGEMM ISA this CPU runs gives the model bit-identical logits
// (f32 and bf16 weights); the opt-in avx512bf16 mode stays within bf16 tolerance of them; an
// unknown name is a load error naming the flag.
#include <gtest/gtest.h>

#include "common/rel_l2.h"
#include "single_sequence_logits.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "kernels/cpu/smooth_gemm.h"
#include "model/model.h"
#include "model/token_table_builder.h"
#include "test_forward_util.h"

namespace xy {
namespace {

using xy::testing_common::rel_l2;
using xy::testing_model::single_sequence_logits;

using testing::kFixtures;

constexpr const char* kModel = "llama_gqa";

std::vector<int32_t> fixture_sequence(size_t i) {
  std::ifstream in(kFixtures + kModel + "/tokens.json");
  return nlohmann::json::parse(in).at("sequences").at(i).get<std::vector<int32_t>>();
}

Result<std::unique_ptr<Model>> load(DType dtype, const std::string& isa) {
  LoadOptions o;
  o.kernels = KernelSet::kCpu;
  o.weight_dtype = dtype;
  o.threads = 2;
  o.gemm_isa = isa;
  return Model::load(kFixtures + kModel, o);
}

// Every position's logits of `seq` as one prefill step.
TEST(ForwardGemmIsa, EverySupportedIsaGivesBitIdenticalLogits) {
  const auto seq = fixture_sequence(1);
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    auto base = load(dtype, "scalar");
    ASSERT_TRUE(base.is_ok()) << base.status().to_string();
    const std::vector<float> want = single_sequence_logits(**base, seq);
    for (cpu::GemmIsa isa : {cpu::GemmIsa::kAvx2, cpu::GemmIsa::kAvx512}) {
      if (!cpu::gemm_isa_supported(isa)) continue;
      auto m = load(dtype, cpu::gemm_isa_name(isa));
      ASSERT_TRUE(m.is_ok()) << m.status().to_string();
      const std::vector<float> got = single_sequence_logits(**m, seq);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float)))
          << cpu::gemm_isa_name(isa) << " " << dtype_name(dtype);
    }
  }
}

TEST(ForwardGemmIsa, Bf16DotModeIsWithinBf16Tolerance) {
  if (!cpu::gemm_isa_supported(cpu::GemmIsa::kAvx512Bf16)) GTEST_SKIP() << "no AVX-512 BF16";
  const auto seq = fixture_sequence(1);
  auto exact = load(DType::kBF16, "avx512");
  auto dot = load(DType::kBF16, "avx512bf16");
  ASSERT_TRUE(exact.is_ok() && dot.is_ok());
  const std::vector<float> want = single_sequence_logits(**exact, seq);
  const std::vector<float> got = single_sequence_logits(**dot, seq);
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += std::pow(static_cast<double>(got[i]) - want[i], 2.0);
    den += std::pow(static_cast<double>(want[i]), 2.0);
  }
  const double e = std::sqrt(num / den);
  EXPECT_LT(e, 1e-2);
  EXPECT_GT(e, 0.0);  // it really is a different numerics mode
}

TEST(ForwardGemmIsa, UnknownIsaIsALoadError) {
  auto m = load(DType::kF32, "avx1024");
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("--gemm-isa"), std::string::npos) << m.status().message();
}

}  // namespace
}  // namespace xy
