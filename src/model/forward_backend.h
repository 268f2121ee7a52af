// The seam between Model (validation, ownership) and the kernels that run a step: one backend per
// KernelSet. A backend receives a TokenTable and KV cache that Model::forward has already
// validated against the model, and runs embedding → layers → final norm → lm_head on logit rows.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/status.h"
#include "kernels/cpu/meta_attention.h"
#include "model/kv_cache.h"
#include "model/model_config.h"
#include "model/token_table.h"
#include "model/weights.h"

namespace xy {

namespace cpu {
class GemmTuneTable;
}

// Activations of one step, reused across steps (vectors only grow). One per concurrent forward.
// Each backend uses the members it needs.
struct ForwardScratch {
  std::vector<float> hidden;          // [n_tokens, hidden] residual stream
  std::vector<float> normed;          // [n_tokens, hidden] normalized input of a sub-layer
  std::vector<float> q;               // [n_tokens, n_heads * head_dim]
  std::vector<float> k, v;            // [n_tokens, n_kv_heads * head_dim] (reference)
  std::vector<float> qkv;             // [n_tokens, (n_heads + 2 n_kv_heads) * head_dim] (cpu)
  std::vector<float> attn;            // [n_tokens, n_heads * head_dim] attention output
  std::vector<float> branch;          // [n_tokens, hidden] o_proj / down_proj output (reference)
  std::vector<float> gate, up;        // [n_tokens, intermediate] (cpu: gate = SiLU(gate)·up)
  std::vector<float> rope_cos;        // [n_tokens, head_dim / 2]
  std::vector<float> rope_sin;        // [n_tokens, head_dim / 2]
  std::vector<float> logit_hidden;    // [n_logit_rows, hidden]
  cpu::AttentionWorkspace attention;  // meta-attention per-worker scratch and split partials
};

class ForwardBackend {
 public:
  virtual ~ForwardBackend() = default;
  virtual KernelSet kernels() const = 0;
  virtual int num_threads() const = 0;  // workers a step runs on (1 for the reference)
  // The CPU backend's worker pool (null for the reference), to share with another model.
  virtual std::shared_ptr<WorkerPool> worker_pool() const { return nullptr; }
  // The arithmetic of the matrix products: kF32 or kBf16 (never kAuto: resolved at load).
  virtual ComputeDtype compute_dtype() const { return ComputeDtype::kF32; }
  // Runs a validated step: K/V of every row into `cache`, logits of table.logit_rows into
  // logits[rows, vocab]. Not thread-safe on the CPU backend (one shared worker pool).
  virtual void forward(const TokenTable& table, KvCache& cache, float* logits,
                       ForwardScratch& scratch) const = 0;
};

// inv_freq[head_dim / 2] of the model's RoPE schedule (none / linear / llama3).
std::vector<float> rope_inv_freq_for(const ModelConfig& config);

// The plain xy::ref path. Reads `weights` (which must outlive the backend) as loaded.
std::unique_ptr<ForwardBackend> make_reference_backend(const ModelConfig& config,
                                                       const ModelWeights& weights);

struct CpuBackendOptions {
  // Packed panel dtype: bf16, or f32 (f32 and f16 weights). nullopt: per matrix, bf16 when the
  // loaded matrix is bf16, else f32.
  std::optional<DType> storage;
  int threads = 0;                                 // 0: one worker per allowed CPU
  std::shared_ptr<WorkerPool> pool;                // set: run on it (threads is ignored)
  std::shared_ptr<const cpu::GemmTuneTable> tune;  // null: default SmoothGEMM configs
  std::string gemm_isa;  // SmoothGEMM ISA name (LoadOptions::gemm_isa); empty: the default
  std::optional<ComputeDtype> compute_dtype;  // LoadOptions::compute_dtype
};

// Packs every matrix of `weights` into SmoothGEMM panels (QKV fused, gate/up fused with the SiLU
// epilogue), then releases the unpacked matrices (ModelWeights::release_matrices). `weights`
// must outlive the backend (norms and biases are read from it). Errors: packing errors
// (kResourceExhausted), kInvalidArgument when the matrices were already released.
Result<std::unique_ptr<ForwardBackend>> make_cpu_backend(const ModelConfig& config,
                                                         ModelWeights& weights,
                                                         const CpuBackendOptions& options);

}  // namespace xy
