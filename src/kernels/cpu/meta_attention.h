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
#include <optional>
#include <string_view>
#include <vector>

#include "core/worker_pool.h"
#include "kernels/cpu/attention_plan.h"
#include "kernels/reference/paged_kv.h"
#include "model/token_table.h"

namespace xy::cpu {

// The inner loops a run uses (chosen at run time, like the GEMM ISAs):
// - kScalar, kAvx2: f32 arithmetic on K/V widened to f32 (exact for f32/bf16/f16 pools); the
//   two agree to f32 rounding (1e-5 rel. L2 of the reference in the tests).
// - kAvx512Bf16: the bf16 compute mode's attention (model/weights.h ComputeDtype::kBf16), on
//   CPUs with AVX512_BF16. On bf16 pools with head_dim % 32 == 0, vdpbf16ps reads K and V in
//   place: q rounded to bf16 once per tile, K·q in f32, the online softmax in f32 with the
//   probabilities rounded to bf16 for p·V (and summed as rounded). bf16-level error against the
//   reference (< 1e-2 rel. L2, tested); batch invariant within the mode (a key's score and an
//   element's p·V chain never depend on the other keys or rows), not bitwise equal to kAvx2.
//   Other pools and head dims run the AVX2 loops.
enum class AttentionIsa : uint8_t { kScalar, kAvx2, kAvx512Bf16 };

const char* attention_isa_name(AttentionIsa isa);  // "scalar", "avx2", "avx512bf16"
// AVX2+FMA+F16C when present, else scalar. Never kAvx512Bf16 (it changes numerics).
AttentionIsa best_attention_isa();
bool attention_isa_supported(AttentionIsa isa);
std::optional<AttentionIsa> attention_isa_from_name(std::string_view name);
// The environment variable XY_ATTENTION_ISA (scalar | avx2 | avx512bf16) when set to an ISA this
// CPU supports, for A/B runs of whole programs (as XY_GEMM_ISA); nullopt when unset. An unknown
// or unsupported value is reported once on stderr and ignored. Read once per process.
std::optional<AttentionIsa> attention_isa_override();

// Per-worker scratch and the split-KV partials. Owned by the caller, reused across layers and
// steps (grows to the largest plan seen; never shrinks). Not thread-safe: one run at a time.
class AttentionWorkspace {
 public:
  // Makes room for `plan` on `num_workers` workers; run_attention calls it itself.
  void reserve(const AttentionPlan& plan, int num_workers);

  float* worker_scratch(int worker) { return worker_.data() + worker * worker_floats_; }
  // The vdpbf16ps driver's per-worker bf16 pairs (q, probabilities) and K/V row pointers.
  uint32_t* worker_pairs(int worker) { return pairs_.data() + worker * worker_pairs_; }
  const uint16_t** worker_rows(int worker) { return rows_.data() + worker * worker_rows_; }
  float* partials() { return partials_.data(); }

 private:
  std::vector<float> worker_;          // [num_workers][worker_floats_]
  std::vector<uint32_t> pairs_;        // [num_workers][worker_pairs_]
  std::vector<const uint16_t*> rows_;  // [num_workers][worker_rows_]
  std::vector<float> partials_;        // [plan.partial_floats]
  int64_t worker_floats_ = 0, worker_pairs_ = 0, worker_rows_ = 0;
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
