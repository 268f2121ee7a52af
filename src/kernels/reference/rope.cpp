#include "kernels/reference/rope.h"

#include <cmath>
#include <numbers>

#include "core/check.h"

namespace xy::ref {

std::vector<float> rope_inv_freq(int head_dim, const RopeFrequencyParams& params) {
  XY_CHECK(head_dim > 0 && head_dim % 2 == 0);
  const int half = head_dim / 2;
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i) {
    // transformers: 1.0 / (base ** (arange(0, dim, 2).float() / dim)), all in f32.
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    const float power = static_cast<float>(
        std::pow(static_cast<double>(params.theta), static_cast<double>(exponent)));
    inv_freq[static_cast<size_t>(i)] = 1.0f / power;
  }
  using Scaling = RopeFrequencyParams::Scaling;
  if (params.scaling == Scaling::kLinear) {
    for (float& f : inv_freq) f /= params.factor;
  } else if (params.scaling == Scaling::kLlama3) {
    // transformers' _compute_llama3_parameters.
    const float old_context = static_cast<float>(params.original_max_position_embeddings);
    const float low_freq_wavelen = old_context / params.low_freq_factor;
    const float high_freq_wavelen = old_context / params.high_freq_factor;
    for (float& f : inv_freq) {
      const float wavelen = static_cast<float>(2.0 * std::numbers::pi) / f;
      if (wavelen < high_freq_wavelen) continue;  // high frequency: unchanged
      if (wavelen > low_freq_wavelen) {           // low frequency: fully scaled
        f = f / params.factor;
        continue;
      }
      const float smooth = (old_context / wavelen - params.low_freq_factor) /
                           (params.high_freq_factor - params.low_freq_factor);
      f = (1.0f - smooth) * f / params.factor + smooth * f;
    }
  }
  return inv_freq;
}

void rope_cos_sin(const int32_t* positions, int n_tokens, const float* inv_freq, int half,
                  float* cos, float* sin) {
  for (int t = 0; t < n_tokens; ++t) {
    const float pos = static_cast<float>(positions[t]);
    for (int i = 0; i < half; ++i) {
      const float angle = pos * inv_freq[i];  // f32 product, like HF
      const size_t at = static_cast<size_t>(t) * half + i;
      cos[at] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin[at] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  }
}

void apply_rope(float* x, int n_tokens, int n_heads, int head_dim, const float* cos,
                const float* sin) {
  XY_CHECK(head_dim % 2 == 0);
  const int half = head_dim / 2;
  for (int t = 0; t < n_tokens; ++t) {
    const float* c = cos + static_cast<size_t>(t) * half;
    const float* s = sin + static_cast<size_t>(t) * half;
    for (int h = 0; h < n_heads; ++h) {
      float* head = x + (static_cast<size_t>(t) * n_heads + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const float x1 = head[i];
        const float x2 = head[i + half];
        head[i] = x1 * c[i] - x2 * s[i];
        head[i + half] = x2 * c[i] + x1 * s[i];
      }
    }
  }
}

}  // namespace xy::ref
