// Attention of one step's queries over a paged KV cache, for any mix of prefill chunks, decodes
// and (chain or tree) verify segments: the oracle of the meta-attention kernel.
#pragma once

#include "kernels/reference/paged_kv.h"
#include "model/token_table.h"

namespace xy::ref {

struct AttentionParams {
  int n_heads = 0;     // query heads; a multiple of the layer's n_kv_heads
  float scale = 0.0f;  // usually 1 / sqrt(head_dim)
  // Mistral-style window: a query at position p sees keys at positions > p - sliding_window.
  // 0: unlimited.
  int sliding_window = 0;
};

// For every segment s of `table` and every row i of it, and every query head h (served by KV head
// h / (n_heads / n_kv_heads), as HF's repeat_kv):
//   out[row, h] = softmax_j(q[row, h] · K_j * scale) · V_j
// over the keys j the row may see: the segment's kv_len cached tokens, plus its own tokens j <= i
// (or, when the segment has a spec mask, those with mask[i][j] = 1), minus any outside the window.
// A key's position is its logical index for cached tokens and table.positions for segment tokens.
// K/V of the step's own tokens must already be written (write_kv) at their slots, which are found
// through the segment's block table. Softmax subtracts the row maximum; accumulation is f32.
//   q:   [n_tokens, n_heads, head_dim] f32
//   out: [n_tokens, n_heads, head_dim] f32 (must not alias q)
// The table must be valid (model::validate_token_table); violated bounds are XY_CHECK failures.
void paged_attention(const float* q, const PagedKvLayer& kv, const TokenTable& table,
                     const AttentionParams& params, float* out);

}  // namespace xy::ref
