#include "model/model_presets.h"

#include <nlohmann/json.hpp>

namespace xy {

namespace {

ModelConfig llama_like(const std::string& arch_name, Architecture arch, int vocab, int hidden,
                       int inter, int layers, int heads, int kv_heads, int head_dim) {
  ModelConfig c;
  c.arch = arch;
  c.architecture_name = arch_name;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.intermediate_size = inter;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = head_dim;
  c.torch_dtype = DType::kBF16;
  return c;
}

std::vector<ModelPreset> build_presets() {
  std::vector<ModelPreset> out;
  {  // HuggingFaceTB/SmolLM2-135M
    ModelConfig c = llama_like("LlamaForCausalLM", Architecture::kLlama, 49152, 576, 1536, 30, 9,
                               3, 64);
    c.max_position_embeddings = 8192;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 100000.0f;
    c.tie_word_embeddings = true;
    out.push_back({"smollm2-135m", "SmolLM2-135M shapes (Llama, 30 layers, GQA 9/3)", c});
  }
  {  // Qwen/Qwen2.5-0.5B
    ModelConfig c = llama_like("Qwen2ForCausalLM", Architecture::kQwen2, 151936, 896, 4864, 24,
                               14, 2, 64);
    c.max_position_embeddings = 32768;
    c.rms_norm_eps = 1e-6f;
    c.rope_theta = 1000000.0f;
    c.tie_word_embeddings = true;
    c.attention_bias = true;
    out.push_back({"qwen2.5-0.5b", "Qwen2.5-0.5B shapes (Qwen2, q/k/v biases, GQA 14/2)", c});
  }
  {  // meta-llama/Llama-3.2-1B
    ModelConfig c = llama_like("LlamaForCausalLM", Architecture::kLlama, 128256, 2048, 8192, 16,
                               32, 8, 64);
    c.max_position_embeddings = 131072;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 500000.0f;
    c.rope_scaling.type = RopeScaling::Type::kLlama3;
    c.rope_scaling.factor = 32.0f;
    c.rope_scaling.low_freq_factor = 1.0f;
    c.rope_scaling.high_freq_factor = 4.0f;
    c.rope_scaling.original_max_position_embeddings = 8192;
    c.tie_word_embeddings = true;
    out.push_back({"llama-3.2-1b", "Llama-3.2-1B shapes (llama3 rope scaling, GQA 32/8)", c});
  }
  {  // Small enough for unit tests, real enough to exercise GQA, RoPE and several layers.
    ModelConfig c = llama_like("LlamaForCausalLM", Architecture::kLlama, 1024, 128, 320, 4, 4,
                               2, 32);
    c.max_position_embeddings = 4096;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0f;
    c.tie_word_embeddings = false;
    out.push_back({"tiny", "4-layer GQA Llama for tests (hidden 128)", c});
  }
  {  // tiny widened to whole 256-element K-quant super-blocks, for quantized-weight tests.
    ModelConfig c = llama_like("LlamaForCausalLM", Architecture::kLlama, 1024, 256, 512, 4, 8,
                               2, 32);
    c.max_position_embeddings = 4096;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0f;
    c.tie_word_embeddings = false;
    out.push_back({"tiny-kquant", "4-layer GQA Llama, hidden 256 (whole K-quant blocks)", c});
  }
  {
    ModelConfig c = llama_like("LlamaForCausalLM", Architecture::kLlama, 1024, 64, 160, 1, 2, 1,
                               32);
    c.max_position_embeddings = 4096;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0f;
    c.tie_word_embeddings = true;
    out.push_back({"tiny-draft", "1-layer draft for the tiny preset (same tokenizer)", c});
  }
  return out;
}

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> presets = build_presets();
  return presets;
}

Result<ModelPreset> find_model_preset(const std::string& name) {
  std::string names;
  for (const ModelPreset& p : model_presets()) {
    if (p.name == name) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  return invalid_argument("unknown model preset '" + name + "' (known: " + names + ")");
}

std::string model_config_to_json(const ModelConfig& c) {
  using ojson = nlohmann::ordered_json;
  auto ids = [](const std::vector<int>& v) -> ojson {
    if (v.empty()) return nullptr;
    if (v.size() == 1) return v[0];
    return v;
  };
  const char* model_type = "llama";
  switch (c.arch) {
    case Architecture::kLlama: model_type = "llama"; break;
    case Architecture::kQwen2: model_type = "qwen2"; break;
    case Architecture::kQwen3: model_type = "qwen3"; break;
    case Architecture::kMistral: model_type = "mistral"; break;
  }
  ojson j;
  j["architectures"] = ojson::array({c.architecture_name});
  j["model_type"] = model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  switch (c.rope_scaling.type) {
    case RopeScaling::Type::kNone: j["rope_scaling"] = nullptr; break;
    case RopeScaling::Type::kLinear:
      j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", c.rope_scaling.factor}};
      break;
    case RopeScaling::Type::kLlama3:
      j["rope_scaling"] = {
          {"rope_type", "llama3"},
          {"factor", c.rope_scaling.factor},
          {"low_freq_factor", c.rope_scaling.low_freq_factor},
          {"high_freq_factor", c.rope_scaling.high_freq_factor},
          {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
      break;
  }
  if (c.arch == Architecture::kLlama) {
    j["attention_bias"] = c.attention_bias;
    j["mlp_bias"] = c.mlp_bias;
  }
  if (c.arch == Architecture::kQwen2 || c.arch == Architecture::kQwen3) {
    j["use_sliding_window"] = false;
    j["sliding_window"] = nullptr;
  }
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["torch_dtype"] = c.torch_dtype == DType::kF32   ? "float32"
                     : c.torch_dtype == DType::kF16 ? "float16"
                                                    : "bfloat16";
  j["bos_token_id"] = ids(c.bos_token_ids);
  j["eos_token_id"] = ids(c.eos_token_ids);
  j["transformers_version"] = "4.51.3";
  return j.dump(2);
}

}  // namespace xy
