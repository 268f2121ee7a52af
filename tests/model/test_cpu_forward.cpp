// The CPU kernel path of Model against the reference path (the oracle) on every fixture, f32
// (rel-L2 < 1e-5) and bf16 weights + KV (< 1e-2); what its load does with the weights (packed,
// unpacked copies released) and with a GEMM tune table beside the model.
#include <gtest/gtest.h>

#include "common/rel_l2.h"
#include "single_sequence_logits.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "kernels/cpu/gemm_tuner.h"
#include "model/model.h"
#include "model/token_table_builder.h"
#include "test_forward_util.h"

namespace xy {
namespace {

using xy::testing_common::rel_l2;
using xy::testing_model::single_sequence_logits;

using testing::kFixtures;

std::vector<int32_t> fixture_sequence(const std::string& model, size_t i) {
  std::ifstream in(kFixtures + model + "/tokens.json");
  return nlohmann::json::parse(in).at("sequences").at(i).get<std::vector<int32_t>>();
}

// Every position's logits of `seq` as one prefill step.
std::unique_ptr<Model> load(const std::string& dir, KernelSet kernels, std::optional<DType> dtype,
                            int threads = 0) {
  LoadOptions o;
  o.kernels = kernels;
  o.weight_dtype = dtype;
  o.threads = threads;
  auto m = Model::load(dir, o);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return m.is_ok() ? std::move(m.value()) : nullptr;
}

class CpuVsReference : public ::testing::TestWithParam<std::string> {};

TEST_P(CpuVsReference, LogitsWithinTolerance) {
  for (const bool bf16 : {false, true}) {
    const DType dtype = bf16 ? DType::kBF16 : DType::kF32;
    auto cpu = load(kFixtures + GetParam(), KernelSet::kCpu, dtype);
    auto ref = load(kFixtures + GetParam(), KernelSet::kReference, dtype);
    ASSERT_TRUE(cpu && ref);
    EXPECT_EQ(cpu->kernels(), KernelSet::kCpu);
    EXPECT_EQ(ref->kernels(), KernelSet::kReference);
    for (size_t i = 0; i < 3; ++i) {
      const auto seq = fixture_sequence(GetParam(), i);
      const double e = rel_l2(single_sequence_logits(*cpu, seq, dtype),
                              single_sequence_logits(*ref, seq, dtype));
      EXPECT_LT(e, bf16 ? 1e-2 : 1e-5) << GetParam() << (bf16 ? " bf16" : " f32") << " seq " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CpuVsReference,
                         ::testing::Values("llama_gqa", "llama3_scaled", "qwen2_bias",
                                           "qwen3_qknorm", "mistral"));

TEST(CpuForward, PacksAndReleasesTheUnpackedMatrices) {
  auto cpu = load(kFixtures + "qwen2_bias", KernelSet::kCpu, DType::kBF16, 1);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->num_threads(), 1);
  const ModelWeights& w = cpu->weights();
  EXPECT_TRUE(w.matrices_released());
  EXPECT_EQ(w.layers()[0].q_proj.data, nullptr);
  EXPECT_EQ(w.lm_head().data, nullptr);
  // Biases and norms stay.
  EXPECT_FALSE(w.layers()[0].q_bias.empty());
  EXPECT_FALSE(w.final_norm().empty());
}

TEST(CpuForward, AsStoredBf16CheckpointPacksBf16Panels) {
  testing::ScratchDir dir;
  ASSERT_TRUE(testing::write_edited_fixture("llama_gqa", dir.path(), [](auto& ts) {
    for (auto& t : ts) testing::convert_tensor(t, DType::kBF16);
  }));
  auto cpu = load(dir.path(), KernelSet::kCpu, std::nullopt);
  auto ref = load(dir.path(), KernelSet::kReference, std::nullopt);
  ASSERT_TRUE(cpu && ref);
  // Untied: the embedding is kept, in the panel dtype.
  EXPECT_EQ(cpu->weights().embed_tokens().dtype, DType::kBF16);
  const auto seq = fixture_sequence("llama_gqa", 2);
  // Same bf16 weight values on both paths; only the kernels' f32 arithmetic differs.
  EXPECT_LT(rel_l2(single_sequence_logits(*cpu, seq, DType::kF32),
                   single_sequence_logits(*ref, seq, DType::kF32)),
            1e-5);
}

TEST(CpuForward, TuneTableBesideTheModelIsUsedAndNeverChangesBits) {
  testing::ScratchDir dir;
  ASSERT_TRUE(testing::write_edited_fixture("llama_gqa", dir.path(), [](auto&) {}));
  const auto seq = fixture_sequence("llama_gqa", 2);
  auto untuned = load(dir.path(), KernelSet::kCpu, DType::kF32);
  ASSERT_TRUE(untuned);
  const std::vector<float> want = single_sequence_logits(*untuned, seq, DType::kF32);

  // A table forcing unusual (but valid) tiles for every shape of the model.
  const ModelConfig& c = untuned->config();
  cpu::GemmTuneTable table;
  table.isa = cpu::gemm_isa_name(cpu::best_gemm_isa());
  table.threads = 2;
  for (const cpu::GemmShapeKey& shape :
       cpu::llama_gemm_shapes(c.hidden_size, c.intermediate_size, c.num_attention_heads,
                              c.num_key_value_heads, c.head_dim, c.vocab_size, DType::kF32)) {
    table.entries.push_back({shape, 4, cpu::GemmTileConfig{1, 4, 1}});
    table.entries.push_back({shape, 1024, cpu::GemmTileConfig{3, 2, 2}});
  }
  ASSERT_TRUE(table.save(dir.path() + "/xyserve-gemm-tune.json").is_ok());
  auto tuned = load(dir.path(), KernelSet::kCpu, DType::kF32);
  ASSERT_TRUE(tuned);
  const std::vector<float> got = single_sequence_logits(*tuned, seq, DType::kF32);
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float)));

  // A malformed table is an error naming the file; the reference path ignores it.
  std::ofstream(dir.path() + "/xyserve-gemm-tune.json") << "{not json";
  LoadOptions o;
  auto bad = Model::load(dir.path(), o);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("xyserve-gemm-tune.json"), std::string::npos)
      << bad.status().to_string();
  o.kernels = KernelSet::kReference;
  EXPECT_TRUE(Model::load(dir.path(), o).is_ok());
  // A named table that does not exist is an error too.
  LoadOptions named;
  named.gemm_tune_file = dir.path() + "/missing.json";
  auto missing = Model::load(kFixtures + "llama_gqa", named);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("missing.json"), std::string::npos);
}

TEST(CpuForward, ModelsCanShareOneWorkerPool) {
  // A draft model runs on the target's pool: same pool object, bit-identical logits.
  auto target = load(kFixtures + "llama_gqa", KernelSet::kCpu, std::nullopt, 2);
  ASSERT_TRUE(target);
  LoadOptions o;
  o.weight_dtype = std::nullopt;
  o.worker_pool = target->worker_pool();
  auto sharing = Model::load(kFixtures + "qwen2_bias", o);
  ASSERT_TRUE(sharing.is_ok()) << sharing.status().to_string();
  EXPECT_EQ((*sharing)->worker_pool(), target->worker_pool());
  EXPECT_EQ((*sharing)->num_threads(), 2);
  auto own = load(kFixtures + "qwen2_bias", KernelSet::kCpu, std::nullopt, 2);
  ASSERT_TRUE(own);
  EXPECT_NE(own->worker_pool(), target->worker_pool());
  const std::vector<int32_t> seq = fixture_sequence("qwen2_bias", 0);
  const std::vector<float> a = single_sequence_logits(**sharing, seq);
  single_sequence_logits(*target, fixture_sequence("llama_gqa", 0));  // interleave the models
  EXPECT_EQ(a, single_sequence_logits(**sharing, seq));
  EXPECT_EQ(a, single_sequence_logits(*own, seq));
  EXPECT_EQ(load(kFixtures + "llama_gqa", KernelSet::kReference, std::nullopt)->worker_pool(),
            nullptr);
}

TEST(CpuForward, NegativeThreadCountIsAnError) {
  LoadOptions o;
  o.threads = -1;
  auto m = Model::load(kFixtures + "llama_gqa", o);
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("threads"), std::string::npos);
}

}  // namespace
}  // namespace xy
