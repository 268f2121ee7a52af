// KernelSet::kReference: the forward pass on the plain xy::ref kernels, one projection per
// nn.Linear, single-threaded. It is the oracle the CPU backend is tested against.
#include <algorithm>
#include <cmath>

#include "kernels/reference/activation.h"
#include "kernels/reference/embedding.h"
#include "kernels/reference/linear.h"
#include "kernels/reference/paged_attention.h"
#include "kernels/reference/paged_kv.h"
#include "kernels/reference/residual.h"
#include "kernels/reference/rms_norm.h"
#include "kernels/reference/rope.h"
#include "model/forward_backend.h"

namespace xy {

namespace {

const float* bias_or_null(const std::vector<float>& b) {
  return b.empty() ? nullptr : b.data();
}

void project(const std::vector<float>& x, const WeightMatrix& w, const std::vector<float>& bias,
             std::vector<float>& y, int n_tokens) {
  y.resize(static_cast<size_t>(n_tokens) * w.rows);
  ref::linear(x.data(), w.data, w.dtype, bias_or_null(bias), y.data(), n_tokens, w.rows, w.cols);
}

class ReferenceBackend final : public ForwardBackend {
 public:
  ReferenceBackend(const ModelConfig& config, const ModelWeights& weights)
      : config_(config), weights_(weights), rope_inv_freq_(rope_inv_freq_for(config)) {}

  KernelSet kernels() const override { return KernelSet::kReference; }
  int num_threads() const override { return 1; }

  void forward(const TokenTable& table, KvCache& cache, float* logits,
               ForwardScratch& s) const override {
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
    if (rows == 0) return;
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
  }

 private:
  void run_layer(int l, const TokenTable& table, KvCache& cache, ForwardScratch& s) const {
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

  const ModelConfig& config_;
  const ModelWeights& weights_;
  std::vector<float> rope_inv_freq_;  // [head_dim / 2]
};

}  // namespace

std::vector<float> rope_inv_freq_for(const ModelConfig& c) {
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
  std::vector<float> inv_freq = ref::rope_inv_freq(c.head_dim, p);
  // GGUF's rope_freqs: theta_i / factor_i, as llama.cpp applies them.
  for (size_t i = 0; i < c.rope_freq_factors.size() && i < inv_freq.size(); ++i) {
    inv_freq[i] = inv_freq[i] / c.rope_freq_factors[i];
  }
  return inv_freq;
}

std::unique_ptr<ForwardBackend> make_reference_backend(const ModelConfig& config,
                                                       const ModelWeights& weights) {
  return std::make_unique<ReferenceBackend>(config, weights);
}

}  // namespace xy
