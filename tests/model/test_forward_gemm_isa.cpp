// LoadOptions::gemm_isa: every SmoothGEMM ISA this CPU runs gives the model bit-identical logits
// (f32 and bf16 weights); the avx512bf16 mode stays within bf16 tolerance of them; an unknown
// name is a load error naming the flag. LoadOptions::compute_dtype: auto follows the
// checkpoint (bf16 weights -> bf16 dot products where the CPU has them, f32 weights -> exact),
// f32 is exact on any weights, bf16 packs bf16 panels, and a contradicting gemm_isa or dtype is
// a load error.
#include <gtest/gtest.h>

#include "common/rel_l2.h"
#include "single_sequence_logits.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <optional>

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

Result<std::unique_ptr<Model>> load(std::optional<DType> dtype, const std::string& isa,
                                    std::optional<ComputeDtype> compute = std::nullopt) {
  LoadOptions o;
  o.kernels = KernelSet::kCpu;
  o.weight_dtype = dtype;
  o.threads = 2;
  o.gemm_isa = isa;
  o.compute_dtype = compute;
  return Model::load(kFixtures + kModel, o);
}

double rel_err(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += std::pow(static_cast<double>(got[i]) - want[i], 2.0);
    den += std::pow(static_cast<double>(want[i]), 2.0);
  }
  return std::sqrt(num / den);
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
  const double e = rel_err(got, want);
  EXPECT_LT(e, 1e-2);
  EXPECT_GT(e, 0.0);  // it really is a different numerics mode
}

TEST(ForwardComputeDtype, AutoFollowsTheCheckpointsDtype) {
  const auto seq = fixture_sequence(1);
  const bool bf16_cpu = cpu::gemm_isa_supported(cpu::GemmIsa::kAvx512Bf16);
  // f32 weights: exact, bit for bit the library default.
  auto f32_default = load(DType::kF32, "");
  auto f32_auto = load(DType::kF32, "", ComputeDtype::kAuto);
  ASSERT_TRUE(f32_default.is_ok() && f32_auto.is_ok());
  EXPECT_EQ((*f32_auto)->compute_dtype(), ComputeDtype::kF32);
  const std::vector<float> exact_f32 = single_sequence_logits(**f32_default, seq);
  const std::vector<float> auto_f32 = single_sequence_logits(**f32_auto, seq);
  EXPECT_EQ(0, std::memcmp(auto_f32.data(), exact_f32.data(), exact_f32.size() * sizeof(float)));
  // bf16 weights: bf16 dot products where the CPU has them, within bf16 tolerance of exact
  // arithmetic on the same weights; f32 asked for explicitly stays exact.
  auto bf16_exact = load(DType::kBF16, "", ComputeDtype::kF32);
  auto bf16_auto = load(DType::kBF16, "", ComputeDtype::kAuto);
  ASSERT_TRUE(bf16_exact.is_ok() && bf16_auto.is_ok());
  EXPECT_EQ((*bf16_exact)->compute_dtype(), ComputeDtype::kF32);
  EXPECT_EQ((*bf16_auto)->compute_dtype(), bf16_cpu ? ComputeDtype::kBf16 : ComputeDtype::kF32);
  const std::vector<float> want = single_sequence_logits(**bf16_exact, seq);
  const std::vector<float> got = single_sequence_logits(**bf16_auto, seq);
  const double e = rel_err(got, want);
  EXPECT_LT(e, 1e-2);
  if (bf16_cpu) {
    EXPECT_GT(e, 0.0);
  }
}

TEST(ForwardComputeDtype, Bf16PacksBf16PanelsFromF32Weights) {
  if (!cpu::gemm_isa_supported(cpu::GemmIsa::kAvx512Bf16)) {
    auto m = load(std::nullopt, "", ComputeDtype::kBf16);
    ASSERT_FALSE(m.is_ok());
    EXPECT_NE(m.status().message().find("AVX-512 BF16"), std::string::npos);
    GTEST_SKIP() << "no AVX-512 BF16";
  }
  const auto seq = fixture_sequence(1);
  // The fixture stores f32: "as stored" + bf16 compute gives bf16 panels, the same model as
  // bf16 weights with auto.
  auto from_f32 = load(std::nullopt, "", ComputeDtype::kBf16);
  auto from_bf16 = load(DType::kBF16, "", ComputeDtype::kAuto);
  ASSERT_TRUE(from_f32.is_ok()) << from_f32.status().to_string();
  ASSERT_TRUE(from_bf16.is_ok());
  EXPECT_EQ((*from_f32)->compute_dtype(), ComputeDtype::kBf16);
  const std::vector<float> a = single_sequence_logits(**from_f32, seq);
  const std::vector<float> b = single_sequence_logits(**from_bf16, seq);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

TEST(ForwardComputeDtype, ContradictionsAreLoadErrors) {
  auto explicit_f32_weights = load(DType::kF32, "", ComputeDtype::kBf16);
  ASSERT_FALSE(explicit_f32_weights.is_ok());
  EXPECT_NE(explicit_f32_weights.status().message().find("--compute-dtype bf16"),
            std::string::npos);
  if (cpu::gemm_isa_supported(cpu::GemmIsa::kAvx512)) {
    auto isa_f32 = load(DType::kBF16, "avx512", ComputeDtype::kBf16);
    ASSERT_FALSE(isa_f32.is_ok());
    EXPECT_NE(isa_f32.status().message().find("--gemm-isa avx512 computes in f32"),
              std::string::npos)
        << isa_f32.status().message();
    // auto takes an explicit ISA as given.
    auto isa_auto = load(DType::kBF16, "avx512", ComputeDtype::kAuto);
    ASSERT_TRUE(isa_auto.is_ok());
    EXPECT_EQ((*isa_auto)->compute_dtype(), ComputeDtype::kF32);
  }
  if (cpu::gemm_isa_supported(cpu::GemmIsa::kAvx512Bf16)) {
    auto isa_bf16 = load(DType::kBF16, "avx512bf16", ComputeDtype::kF32);
    ASSERT_FALSE(isa_bf16.is_ok());
    EXPECT_NE(isa_bf16.status().message().find("computes in bf16"), std::string::npos);
  }
}

TEST(ForwardGemmIsa, UnknownIsaIsALoadError) {
  auto m = load(DType::kF32, "avx1024");
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("--gemm-isa"), std::string::npos) << m.status().message();
}

}  // namespace
}  // namespace xy
