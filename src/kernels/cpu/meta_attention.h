// Meta-attention: one kernel call per layer covers a whole mixed step (prefill chunks, decodes,
// chain and tree verify segments) over the paged KV cache, executing an AttentionPlan
// (attention_plan.h) on a WorkerPool. Same semantics as ref::paged_attention (the oracle).
//
// Usage (per step, then per layer):
//   const AttentionShape shape{cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cache.block_size(),
//                              cfg.sliding_window};
//   const AttentionPlan plan = plan_attention(table, shape, pool.num_workers());
//   AttentionWorkspace ws;  // keep it across steps: it only grows
//   // after the layer's K/V of the step are written at table.slot_mapping (ref::write_kv):
//   run_attention(plan, table, q, cache.layer(l), out, pool, ws);
//
// Per tile, for each fixed KV chunk: scores = q·K * scale over the keys the row may see
// (cached keys, then its own segment's keys j <= i or those its spec mask allows, minus those
// outside the sliding window; masks come from kv_len / positions, never a stored causal mask),
// exact softmax partial of the chunk, accumulation of p·V; partials merged in chunk order by
// log-sum-exp. A tree verify row's visible segment keys (root path) are gathered to logical
// indices kv_len, kv_len + 1, ..., so a tree node's output is bitwise that of the same tokens
// run as a chain or decoded one by one (attention_plan.h). K/V are read through the segment's block
// table (f32, or bf16/f16 widened on load). Rows that may see no key (only an invalid table) output
// zeros, as the reference.
#pragma once

#include <cstdint>
#include <vector>

#include "core/worker_pool.h"
#include "kernels/cpu/attention_plan.h"
#include "kernels/reference/paged_kv.h"
#include "model/token_table.h"

namespace xy::cpu {

enum class AttentionIsa : uint8_t { kScalar, kAvx2 };

const char* attention_isa_name(AttentionIsa isa);  // "scalar", "avx2"
AttentionIsa best_attention_isa();                 // AVX2+FMA+F16C when present, else scalar
bool attention_isa_supported(AttentionIsa isa);

// Per-worker scratch and the split-KV partials. Owned by the caller, reused across layers and
// steps (grows to the largest plan seen; never shrinks). Not thread-safe: one run at a time.
class AttentionWorkspace {
 public:
  // Makes room for `plan` on `num_workers` workers; run_attention calls it itself.
  void reserve(const AttentionPlan& plan, int num_workers);

  float* worker_scratch(int worker) { return worker_.data() + worker * worker_floats_; }
  float* partials() { return partials_.data(); }

 private:
  std::vector<float> worker_;    // [num_workers][worker_floats_]
  std::vector<float> partials_;  // [plan.partial_floats]
  int64_t worker_floats_ = 0;
};

// out[row, h, :] = attention of q[row, h, :] as ref::paged_attention with
// ref::AttentionParams{shape.n_heads, shape.effective_scale(), shape.sliding_window}.
//   q:   [n_tokens, n_heads, head_dim] f32 (the model's [n_tokens, n_heads * head_dim])
//   out: [n_tokens, n_heads, head_dim] f32, every element written; must not alias q
//   kv:  the layer's pools; shape (n_kv_heads, head_dim, block_size) must match plan.shape
// `plan` must have been made from this `table`. Violated bounds / mismatched shapes are XY_CHECK
// failures. Blocks until done. Thread: the pool's caller thread. Uses best_attention_isa().
void run_attention(const AttentionPlan& plan, const TokenTable& table, const float* q,
                   const ref::PagedKvLayer& kv, float* out, WorkerPool& pool,
                   AttentionWorkspace& workspace);

// Same with an explicit ISA (tests, benchmarks); the ISA must be supported (XY_CHECK).
void run_attention_with(const AttentionPlan& plan, const TokenTable& table, const float* q,
                        const ref::PagedKvLayer& kv, float* out, WorkerPool& pool,
                        AttentionWorkspace& workspace, AttentionIsa isa);

}  // namespace xy::cpu
