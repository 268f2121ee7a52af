// The architecture hyper-parameters of a Hugging Face Llama-family checkpoint (config.json) and
// its default sampling values (generation_config.json). Parsing lives in model_config.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace xy {

enum class Architecture { kLlama, kQwen2, kQwen3, kMistral };

struct RopeScaling {
  enum class Type { kNone, kLinear, kLlama3 };
  Type type = Type::kNone;
  float factor = 1.0f;                          // linear and llama3
  float low_freq_factor = 1.0f;                 // llama3
  float high_freq_factor = 4.0f;                // llama3
  int original_max_position_embeddings = 8192;  // llama3
};

struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  std::string architecture_name;  // as written in config.json, e.g. "Qwen2ForCausalLM"
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;  // == num_attention_heads when absent (MHA)
  int head_dim = 0;             // explicit in config.json, else hidden_size / num_attention_heads
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  // Per-frequency divisors of inv_freq, as GGUF files store llama3-style scaling (the tensor
  // rope_freqs.weight, [head_dim / 2]); empty when the schedule is rope_scaling's alone.
  std::vector<float> rope_freq_factors;
  bool tie_word_embeddings = false;
  bool attention_bias =
      false;  // q/k/v (and o for Llama's attention_bias) biases; Qwen2: q/k/v only
  bool o_proj_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;               // Qwen3: per-head RMSNorm on q and k before RoPE
  std::optional<int> sliding_window;  // only when active (Mistral/Qwen use_sliding_window)
  DType torch_dtype = DType::kF32;
  std::vector<int> bos_token_ids;
  std::vector<int> eos_token_ids;

  int q_size() const { return num_attention_heads * head_dim; }   // width of Q projection
  int kv_size() const { return num_key_value_heads * head_dim; }  // width of K (and V) projection
  int gqa_group() const { return num_attention_heads / num_key_value_heads; }
};

// Default sampling values from generation_config.json; absent keys stay unset.
struct GenerationDefaults {
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<int> top_k;
  std::optional<float> min_p;
  std::optional<float> repetition_penalty;
  std::optional<bool> do_sample;
  std::optional<int> max_new_tokens;
  std::vector<int> eos_token_ids;
  std::optional<int> bos_token_id;
};

// Parses <dir>/config.json. Errors name the file and the key (kNotFound, kFormatError,
// kUnsupported for unknown architectures or rope_scaling types).
Result<ModelConfig> load_model_config(const std::string& model_dir);
Result<ModelConfig> parse_model_config(const std::string& json_text, const std::string& file_name);

// Parses <dir>/generation_config.json; a missing file yields empty defaults, a malformed one an
// error.
Result<GenerationDefaults> load_generation_defaults(const std::string& model_dir);

}  // namespace xy
