// Rotary position embedding in Hugging Face's rotate_half ("NeoX") form: dimension i of a head is
// paired with dimension i + head_dim/2, and pair i turns by angle position * inv_freq[i].
#pragma once

#include <cstdint>
#include <vector>

namespace xy::ref {

// The frequency schedule of transformers' ROPE_INIT_FUNCTIONS for the types xyserve supports.
struct RopeFrequencyParams {
  enum class Scaling { kNone, kLinear, kLlama3 };
  float theta = 10000.0f;
  Scaling scaling = Scaling::kNone;
  float factor = 1.0f;                          // kLinear, kLlama3
  float low_freq_factor = 1.0f;                 // kLlama3
  float high_freq_factor = 4.0f;                // kLlama3
  int original_max_position_embeddings = 8192;  // kLlama3
};

// inv_freq[head_dim / 2], computed in f32 step by step as transformers does:
//   default: 1 / theta^(2i / head_dim)
//   linear:  default / factor
//   llama3:  default for wavelengths shorter than original_max / high_freq_factor, default / factor
//            for those longer than original_max / low_freq_factor, and the smooth blend between.
// head_dim must be even and positive.
std::vector<float> rope_inv_freq(int head_dim, const RopeFrequencyParams& params);

// Per-token rotation tables for one step, shared by every layer:
//   positions: [n_tokens]
//   inv_freq:  [half]
//   cos, sin:  [n_tokens, half] where angle = f32(position) * inv_freq[i] (an f32 product, as HF's
//              matmul of positions and inv_freq), then cos/sin rounded to f32.
void rope_cos_sin(const int32_t* positions, int n_tokens, const float* inv_freq, int half,
                  float* cos, float* sin);

// Rotates every head of every token in place:
//   x:        [n_tokens, n_heads, head_dim] f32
//   cos, sin: [n_tokens, head_dim / 2] from rope_cos_sin
//   out[i] = x[i]·cos - x[i + h]·sin,  out[i + h] = x[i + h]·cos + x[i]·sin   (h = head_dim / 2)
void apply_rope(float* x, int n_tokens, int n_heads, int head_dim, const float* cos,
                const float* sin);

}  // namespace xy::ref
