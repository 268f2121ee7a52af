// RMSNorm as Hugging Face's LlamaRMSNorm computes it in float32:
//   y = weight * (x * rsqrt(mean(x²) + eps))
#pragma once

namespace xy::ref {

// Normalizes each of the `rows` rows of x independently.
//   x, y:   [rows, dim] f32 (y may alias x: in place is allowed)
//   weight: [dim] f32
void rms_norm(const float* x, const float* weight, float* y, int rows, int dim, float eps);

// Qwen3's q_norm / k_norm: RMSNorm over each head_dim-wide head of each token, with one weight
// vector shared by all heads.
//   x, y:   [n_tokens, n_heads, head_dim] f32 (in place allowed)
//   weight: [head_dim] f32
void rms_norm_heads(const float* x, const float* weight, float* y, int n_tokens, int n_heads,
                    int head_dim, float eps);

}  // namespace xy::ref
