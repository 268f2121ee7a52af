// A Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) running one scheduler step — any mix of
// prefill chunks, decodes and verify segments described by a TokenTable — over a paged KV cache.
// Architecture differences are flags of ModelConfig (biases, q/k norm, sliding window, RoPE
// scaling), set per architecture in one place (model_config.cpp); this file never switches on the
// architecture. Kernels: xy::ref (plain reference C++).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/kv_cache.h"
#include "model/model_config.h"
#include "model/token_table.h"
#include "model/weights.h"

namespace xy {

// Activations of one step, reused across steps (vectors only grow). One per concurrent forward.
struct ForwardScratch {
  std::vector<float> hidden;        // [n_tokens, hidden] residual stream
  std::vector<float> normed;        // [n_tokens, hidden] normalized input of a sub-layer
  std::vector<float> q;             // [n_tokens, n_heads * head_dim]
  std::vector<float> k, v;          // [n_tokens, n_kv_heads * head_dim]
  std::vector<float> attn;          // [n_tokens, n_heads * head_dim] attention output
  std::vector<float> branch;        // [n_tokens, hidden] o_proj / down_proj output
  std::vector<float> gate, up;      // [n_tokens, intermediate]
  std::vector<float> rope_cos;      // [n_tokens, head_dim / 2]
  std::vector<float> rope_sin;      // [n_tokens, head_dim / 2]
  std::vector<float> logit_hidden;  // [n_logit_rows, hidden]
};

class Model {
 public:
  // Reads <dir>/config.json and the checkpoint (model.safetensors or a sharded index). Errors name
  // the file and key / tensor (kNotFound, kFormatError, kUnsupported, kResourceExhausted).
  static Result<std::unique_ptr<Model>> load(const std::string& dir,
                                             const LoadOptions& options = {});
  // From already-loaded parts (tests, converters).
  static Result<std::unique_ptr<Model>> from_parts(ModelConfig config, ModelWeights weights);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }

  // A zeroed KV cache shaped for this model.
  Result<KvCache> make_kv_cache(int num_blocks, int block_size, DType dtype) const;

  // Runs one step: writes the K/V of every row of `table` into `cache` at its slot, and the
  // logits of table.logit_rows (in that order) into logits[logit_rows.size(), vocab_size].
  // kInvalidArgument (nothing written) when the table fails validate_token_table or the cache
  // does not fit the model. Thread-safety: concurrent calls need distinct scratch and caches.
  Status forward(const TokenTable& table, KvCache& cache, float* logits,
                 ForwardScratch& scratch) const;
  // Same, with a scratch owned by the model (so not callable concurrently).
  Status forward(const TokenTable& table, KvCache& cache, float* logits);

 private:
  Model(ModelConfig config, ModelWeights weights);
  void run_layer(int layer, const TokenTable& table, KvCache& cache, ForwardScratch& s) const;

  ModelConfig config_;
  ModelWeights weights_;
  std::vector<float> rope_inv_freq_;  // [head_dim / 2]
  ForwardScratch own_scratch_;
};

}  // namespace xy
