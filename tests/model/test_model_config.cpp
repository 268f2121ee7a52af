// config.json parsing: the five reference fixtures against the hyper-parameters their README
// documents, transformers defaults for absent keys, and every class of malformed input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "model/model_config.h"

namespace xy {
namespace {

const std::string kFixtures = std::string(XY_TESTDATA_DIR) + "/reference-logits/";

ModelConfig load_ok(const std::string& name) {
  Result<ModelConfig> r = load_model_config(kFixtures + name);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : ModelConfig{};
}

// The table of the README: hidden, layers, heads/kv, head_dim, ffn, vocab, tied.
TEST(ModelConfigFixtures, LlamaGqa) {
  const ModelConfig c = load_ok("llama_gqa");
  EXPECT_EQ(c.arch, Architecture::kLlama);
  EXPECT_EQ(c.architecture_name, "LlamaForCausalLM");
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.intermediate_size, 256);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::kNone);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.o_proj_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_FALSE(c.sliding_window.has_value());
  EXPECT_EQ(c.torch_dtype, DType::kF32);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.bos_token_ids, std::vector<int>{1});
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
  EXPECT_EQ(c.q_size(), 128);
  EXPECT_EQ(c.kv_size(), 64);
  EXPECT_EQ(c.gqa_group(), 2);
}

TEST(ModelConfigFixtures, Llama3Scaled) {
  const ModelConfig c = load_ok("llama3_scaled");
  EXPECT_EQ(c.arch, Architecture::kLlama);
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 8);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.intermediate_size, 384);
  EXPECT_EQ(c.vocab_size, 640);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FLOAT_EQ(c.rope_theta, 500000.0f);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::kLlama3);
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 8.0f);
  EXPECT_FLOAT_EQ(c.rope_scaling.low_freq_factor, 1.0f);
  EXPECT_FLOAT_EQ(c.rope_scaling.high_freq_factor, 4.0f);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 64);
}

TEST(ModelConfigFixtures, Qwen2Bias) {
  const ModelConfig c = load_ok("qwen2_bias");
  EXPECT_EQ(c.arch, Architecture::kQwen2);
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 1);
  EXPECT_EQ(c.head_dim, 32);  // derived: no head_dim in config.json
  EXPECT_EQ(c.intermediate_size, 320);
  EXPECT_EQ(c.vocab_size, 600);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FLOAT_EQ(c.rope_theta, 1000000.0f);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-6f);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.o_proj_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_FALSE(c.sliding_window.has_value());  // 32768 present but use_sliding_window false
  EXPECT_EQ(c.gqa_group(), 4);
}

TEST(ModelConfigFixtures, Qwen3QkNorm) {
  const ModelConfig c = load_ok("qwen3_qknorm");
  EXPECT_EQ(c.arch, Architecture::kQwen3);
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.q_size(), 256);  // != hidden
  EXPECT_EQ(c.intermediate_size, 256);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.o_proj_bias);
  EXPECT_FALSE(c.sliding_window.has_value());
  EXPECT_FLOAT_EQ(c.rope_theta, 1000000.0f);
}

TEST(ModelConfigFixtures, Mistral) {
  const ModelConfig c = load_ok("mistral");
  EXPECT_EQ(c.arch, Architecture::kMistral);
  EXPECT_EQ(c.hidden_size, 96);
  EXPECT_EQ(c.num_hidden_layers, 3);
  EXPECT_EQ(c.num_attention_heads, 6);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.intermediate_size, 200);
  EXPECT_EQ(c.vocab_size, 700);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.sliding_window.has_value());  // null
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_EQ(c.max_position_embeddings, 32768);
}

TEST(GenerationDefaultsFixtures, AllFiveHaveBosEos) {
  for (const char* name : {"llama_gqa", "llama3_scaled", "qwen2_bias", "qwen3_qknorm", "mistral"}) {
    Result<GenerationDefaults> g = load_generation_defaults(kFixtures + name);
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    EXPECT_EQ(g->bos_token_id, 1) << name;
    EXPECT_EQ(g->eos_token_ids, std::vector<int>{2}) << name;
    EXPECT_FALSE(g->temperature.has_value());
    EXPECT_FALSE(g->do_sample.has_value());
  }
}

}  // namespace
}  // namespace xy
