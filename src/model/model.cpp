#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/reference/activation.h"
#include "kernels/reference/embedding.h"
#include "kernels/reference/linear.h"
#include "kernels/reference/paged_attention.h"
#include "kernels/reference/paged_kv.h"
#include "kernels/reference/residual.h"
#include "kernels/reference/rms_norm.h"
#include "kernels/reference/rope.h"
#include "model/safetensors.h"
#include "model/token_table_validation.h"

namespace xy {

namespace {

ref::RopeFrequencyParams rope_params(const ModelConfig& c) {
  ref::RopeFrequencyParams p;
  p.theta = c.rope_theta;
  p.factor = c.rope_scaling.factor;
  p.low_freq_factor = c.rope_scaling.low_freq_factor;
  p.high_freq_factor = c.rope_scaling.high_freq_factor;
  p.original_max_position_embeddings = c.rope_scaling.original_max_position_embeddings;
  switch (c.rope_scaling.type) {
    case RopeScaling::Type::kNone:
      p.scaling = ref::RopeFrequencyParams::Scaling::kNone;
      break;
    case RopeScaling::Type::kLinear:
      p.scaling = ref::RopeFrequencyParams::Scaling::kLinear;
      break;
    case RopeScaling::Type::kLlama3:
      p.scaling = ref::RopeFrequencyParams::Scaling::kLlama3;
      break;
  }
  return p;
}

// The config values the forward pass relies on, checked once (a hand-made config could violate
// them even when config.json parsing accepted it).
Status check_config(const ModelConfig& c) {
  if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.intermediate_size <= 0 ||
      c.num_hidden_layers <= 0 || c.num_attention_heads <= 0 || c.num_key_value_heads <= 0 ||
      c.head_dim <= 0) {
    return invalid_argument("model config: sizes must be positive");
  }
  if (c.head_dim % 2 != 0) return invalid_argument("model config: head_dim must be even");
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return invalid_argument("model config: num_attention_heads (" +
                            std::to_string(c.num_attention_heads) +
                            ") is not a multiple of num_key_value_heads (" +
                            std::to_string(c.num_key_value_heads) + ")");
  }
  return Status::ok();
}

const float* bias_or_null(const std::vector<float>& b) {
  return b.empty() ? nullptr : b.data();
}

void project(const std::vector<float>& x, const WeightMatrix& w, const std::vector<float>& bias,
             std::vector<float>& y, int n_tokens) {
  y.resize(static_cast<size_t>(n_tokens) * w.rows);
  ref::linear(x.data(), w.data, w.dtype, bias_or_null(bias), y.data(), n_tokens, w.rows, w.cols);
}

}  // namespace

Model::Model(ModelConfig config, ModelWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  rope_inv_freq_ = ref::rope_inv_freq(config_.head_dim, rope_params(config_));
}

Result<std::unique_ptr<Model>> Model::from_parts(ModelConfig config, ModelWeights weights) {
  XY_RETURN_IF_ERROR(check_config(config));
  if (weights.layers().size() != static_cast<size_t>(config.num_hidden_layers)) {
    return invalid_argument("model: weights have " + std::to_string(weights.layers().size()) +
                            " layers, config " + std::to_string(config.num_hidden_layers));
  }
  return std::unique_ptr<Model>(new Model(std::move(config), std::move(weights)));
}

Result<std::unique_ptr<Model>> Model::load(const std::string& dir, const LoadOptions& options) {
  XY_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(dir));
  XY_RETURN_IF_ERROR(check_config(config));
  XY_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsArchive> archive,
                      SafetensorsArchive::open_dir(dir));
  XY_ASSIGN_OR_RETURN(ModelWeights weights,
                      ModelWeights::load(std::move(archive), config, options, dir));
  return from_parts(std::move(config), std::move(weights));
}

Result<KvCache> Model::make_kv_cache(int num_blocks, int block_size, DType dtype) const {
  return KvCache::create(KvCache::shape_for(config_, num_blocks, block_size, dtype));
}

Status Model::forward(const TokenTable& table, KvCache& cache, float* logits) {
  return forward(table, cache, logits, own_scratch_);
}

Status Model::forward(const TokenTable& table, KvCache& cache, float* logits,
                      ForwardScratch& s) const {
  const KvCacheShape& shape = cache.shape();
  if (shape.num_layers != config_.num_hidden_layers ||
      shape.n_kv_heads != config_.num_key_value_heads || shape.head_dim != config_.head_dim) {
    return invalid_argument("forward: KV cache shaped for " + std::to_string(shape.num_layers) +
                            " layers x " + std::to_string(shape.n_kv_heads) + " kv heads x " +
                            std::to_string(shape.head_dim) + " head_dim does not fit the model");
  }
  XY_RETURN_IF_ERROR(validate_token_table(
      table, TokenTableLimits{config_.vocab_size, shape.num_blocks, shape.block_size}));
  if (logits == nullptr && !table.logit_rows.empty()) {
    return invalid_argument("forward: logits requested but no output buffer given");
  }

  const int n = table.num_tokens();
  const int hidden = config_.hidden_size;
  const WeightMatrix& embed = weights_.embed_tokens();
  s.hidden.resize(static_cast<size_t>(n) * hidden);
  ref::embedding(embed.data, embed.dtype, embed.rows, hidden, table.token_ids.data(), n,
                 s.hidden.data());

  // Rotation tables once per step; every layer rotates by the same positions.
  const int half = config_.head_dim / 2;
  s.rope_cos.resize(static_cast<size_t>(n) * half);
  s.rope_sin.resize(s.rope_cos.size());
  ref::rope_cos_sin(table.positions.data(), n, rope_inv_freq_.data(), half, s.rope_cos.data(),
                    s.rope_sin.data());

  for (int l = 0; l < config_.num_hidden_layers; ++l) run_layer(l, table, cache, s);

  // Only rows that want logits pass the final norm and the (vocab-wide) lm_head.
  const int rows = static_cast<int>(table.logit_rows.size());
  if (rows == 0) return Status::ok();
  s.logit_hidden.resize(static_cast<size_t>(rows) * hidden);
  for (int r = 0; r < rows; ++r) {
    const float* src = s.hidden.data() + static_cast<size_t>(table.logit_rows[r]) * hidden;
    std::copy(src, src + hidden, s.logit_hidden.data() + static_cast<size_t>(r) * hidden);
  }
  ref::rms_norm(s.logit_hidden.data(), weights_.final_norm().data(), s.logit_hidden.data(), rows,
                hidden, config_.rms_norm_eps);
  const WeightMatrix& head = weights_.lm_head();
  ref::linear(s.logit_hidden.data(), head.data, head.dtype, nullptr, logits, rows, head.rows,
              head.cols);
  return Status::ok();
}

void Model::run_layer(int l, const TokenTable& table, KvCache& cache, ForwardScratch& s) const {
  const LayerWeights& w = weights_.layers()[static_cast<size_t>(l)];
  const ModelConfig& c = config_;
  const int n = table.num_tokens();
  const size_t n_hidden = static_cast<size_t>(n) * c.hidden_size;
  const float eps = c.rms_norm_eps;

  // Attention block.
  s.normed.resize(n_hidden);
  ref::rms_norm(s.hidden.data(), w.input_norm.data(), s.normed.data(), n, c.hidden_size, eps);
  project(s.normed, w.q_proj, w.q_bias, s.q, n);  // [n, n_heads * head_dim]
  project(s.normed, w.k_proj, w.k_bias, s.k, n);  // [n, n_kv_heads * head_dim]
  project(s.normed, w.v_proj, w.v_bias, s.v, n);  // [n, n_kv_heads * head_dim]
  if (c.qk_norm) {
    ref::rms_norm_heads(s.q.data(), w.q_norm.data(), s.q.data(), n, c.num_attention_heads,
                        c.head_dim, eps);
    ref::rms_norm_heads(s.k.data(), w.k_norm.data(), s.k.data(), n, c.num_key_value_heads,
                        c.head_dim, eps);
  }
  ref::apply_rope(s.q.data(), n, c.num_attention_heads, c.head_dim, s.rope_cos.data(),
                  s.rope_sin.data());
  ref::apply_rope(s.k.data(), n, c.num_key_value_heads, c.head_dim, s.rope_cos.data(),
                  s.rope_sin.data());
  const ref::PagedKvLayer kv = cache.layer(l);
  ref::write_kv(s.k.data(), s.v.data(), table.slot_mapping.data(), n, kv);
  s.attn.resize(s.q.size());
  const ref::AttentionParams params{c.num_attention_heads,
                                    // head_dim ** -0.5 in double, as Python computes it
                                    static_cast<float>(1.0 / std::sqrt(c.head_dim)),
                                    c.sliding_window.value_or(0)};
  ref::paged_attention(s.q.data(), kv, table, params, s.attn.data());
  project(s.attn, w.o_proj, w.o_bias, s.branch, n);  // [n, hidden]
  ref::add(s.hidden.data(), s.branch.data(), s.hidden.data(), n_hidden);

  // MLP block.
  ref::rms_norm(s.hidden.data(), w.post_attention_norm.data(), s.normed.data(), n, c.hidden_size,
                eps);
  project(s.normed, w.gate_proj, w.gate_bias, s.gate, n);  // [n, intermediate]
  project(s.normed, w.up_proj, w.up_bias, s.up, n);        // [n, intermediate]
  ref::silu_mul(s.gate.data(), s.up.data(), s.gate.data(), s.gate.size());
  project(s.gate, w.down_proj, w.down_bias, s.branch, n);  // [n, hidden]
  ref::add(s.hidden.data(), s.branch.data(), s.hidden.data(), n_hidden);
}

}  // namespace xy
