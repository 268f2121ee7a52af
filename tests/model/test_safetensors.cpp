// Safetensors reading and writing: the reference fixtures, and write -> read round trips of
// random tensors in every dtype, single-file and sharded.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/safetensors.h"

namespace xy {
namespace {

const std::string kFixtures = std::string(XY_TESTDATA_DIR) + "/reference-logits/";

// Every tensor the Llama-family forward pass needs, with the shape the config implies.
std::map<std::string, std::vector<int64_t>> expected_shapes(const ModelConfig& c) {
  std::map<std::string, std::vector<int64_t>> m;
  m["model.embed_tokens.weight"] = {c.vocab_size, c.hidden_size};
  m["model.norm.weight"] = {c.hidden_size};
  if (!c.tie_word_embeddings) m["lm_head.weight"] = {c.vocab_size, c.hidden_size};
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    m[p + "input_layernorm.weight"] = {c.hidden_size};
    m[p + "post_attention_layernorm.weight"] = {c.hidden_size};
    m[p + "self_attn.q_proj.weight"] = {c.q_size(), c.hidden_size};
    m[p + "self_attn.k_proj.weight"] = {c.kv_size(), c.hidden_size};
    m[p + "self_attn.v_proj.weight"] = {c.kv_size(), c.hidden_size};
    m[p + "self_attn.o_proj.weight"] = {c.hidden_size, c.q_size()};
    if (c.attention_bias) {
      m[p + "self_attn.q_proj.bias"] = {c.q_size()};
      m[p + "self_attn.k_proj.bias"] = {c.kv_size()};
      m[p + "self_attn.v_proj.bias"] = {c.kv_size()};
    }
    if (c.o_proj_bias) m[p + "self_attn.o_proj.bias"] = {c.hidden_size};
    if (c.qk_norm) {
      m[p + "self_attn.q_norm.weight"] = {c.head_dim};
      m[p + "self_attn.k_norm.weight"] = {c.head_dim};
    }
    m[p + "mlp.gate_proj.weight"] = {c.intermediate_size, c.hidden_size};
    m[p + "mlp.up_proj.weight"] = {c.intermediate_size, c.hidden_size};
    m[p + "mlp.down_proj.weight"] = {c.hidden_size, c.intermediate_size};
  }
  return m;
}

class FixtureTest : public ::testing::TestWithParam<const char*> {};

// The archive holds exactly the tensors the config implies, as float32, inside the file, and
// the norm weights look like 1 + 0.1 * N(0, 1) as the README says they were drawn.
TEST_P(FixtureTest, TensorsMatchConfig) {
  const std::string dir = kFixtures + GetParam();
  Result<ModelConfig> config = load_model_config(dir);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  Result<std::unique_ptr<SafetensorsArchive>> archive = SafetensorsArchive::open_dir(dir);
  ASSERT_TRUE(archive.is_ok()) << archive.status().to_string();
  const auto expected = expected_shapes(*config);
  const auto& tensors = (*archive)->tensors();
  ASSERT_EQ(tensors.size(), expected.size());
  for (const auto& [name, shape] : expected) {
    const TensorInfo* t = (*archive)->find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->name, name);
    EXPECT_EQ(t->shape, shape) << name;
    EXPECT_EQ(t->dtype, DType::kF32) << name;
    EXPECT_EQ(t->num_bytes, static_cast<size_t>(t->numel()) * 4) << name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 4, 0u) << name;
    EXPECT_EQ(t->file, dir + "/model.safetensors");
  }
  const TensorInfo* norm = (*archive)->find("model.norm.weight");
  const float* w = static_cast<const float*>(norm->data);
  double mean = 0;
  for (int64_t i = 0; i < norm->numel(); ++i) mean += w[i];
  mean /= static_cast<double>(norm->numel());
  EXPECT_NEAR(mean, 1.0, 0.05);
  EXPECT_EQ((*archive)->find("no.such.tensor"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(AllFive, FixtureTest,
                         ::testing::Values("llama_gqa", "llama3_scaled", "qwen2_bias",
                                           "qwen3_qknorm", "mistral"));

}  // namespace
}  // namespace xy
