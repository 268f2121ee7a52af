// The tensors of a Llama-family checkpoint, checked against its config and held in the element
// type the forward pass wants. Names are Hugging Face's
// (model.layers.N.self_attn.q_proj.weight...).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/dtype.h"
#include "core/status.h"
#include "model/model_config.h"
#include "model/safetensors.h"

namespace xy {

class WorkerPool;  // core/worker_pool.h

// Which kernels run the forward pass: the CPU meta-kernels (SmoothGEMM over pre-packed weights,
// vectorized norms / RoPE / meta-attention on a worker pool; the default) or the plain xy::ref
// kernels, kept as the test oracle.
enum class KernelSet : uint8_t { kCpu, kReference };

// The arithmetic of the matrix products (KernelSet::kCpu).
//   kF32   exact f32 math on any weights: activations stay f32, bit-identical to the reference
//          kernels' products on the same weights.
//   kBf16  bf16 dot products (SmoothGEMM's avx512bf16 path): activations rounded to bf16 once
//          per product, f32 accumulation; faster prefill and batched steps, bf16-level error.
//          Needs AVX-512 BF16.
//   kAuto  the checkpoint's dtype, as vLLM's dtype "auto": kBf16 when the packed weights are
//          bf16 and the CPU has AVX-512 BF16, else kF32. Quantized GGUF projections keep their
//          int8 products (activations rounded to int8 per 32) and, on AVX-512 BF16, attend in
//          bf16 (the kBf16 mode's attention); kF32 keeps their attention exact.
// Either mode is batch invariant: a row's result never depends on the other rows.
enum class ComputeDtype : uint8_t { kAuto, kF32, kBf16 };

struct LoadOptions {
  // Element type in memory of the matrices (projections, embedding, lm_head): f32 widens any
  // stored type, bf16 / f16 round f32 to nearest even; nullopt keeps every tensor as stored.
  // Norm weights and biases are always f32. With KernelSet::kCpu the matrices are packed into
  // SmoothGEMM panels of bf16 (when this resolves to bf16) or f32 (f32, and f16 widened).
  std::optional<DType> weight_dtype = DType::kF32;
  KernelSet kernels = KernelSet::kCpu;
  int threads = 0;  // kCpu: workers of the model's pool, including the caller (0 = one per CPU)
  // kCpu: SmoothGEMM tune table (`xyserve tune`). Empty: <model dir>/xyserve-gemm-tune.json when
  // that file exists, else built-in defaults. A named file must exist and parse.
  std::string gemm_tune_file;
  // kCpu: SmoothGEMM micro-kernels, by name (cpu::gemm_isa_name): scalar | avx2 | avx512 |
  // avx512bf16 (bf16 dot products: activations rounded to bf16, faster prefill, different
  // numerics). Empty: from compute_dtype (avx512bf16 for bf16 compute, else
  // cpu::default_gemm_isa(): XY_GEMM_ISA, else the best this CPU runs).
  std::string gemm_isa;
  // kCpu: see ComputeDtype; an explicit gemm_isa must agree with it. nullopt (the library's
  // default): gemm_isa, else cpu::default_gemm_isa(), which is exact f32 unless XY_GEMM_ISA says
  // otherwise. The CLI's default is kAuto.
  std::optional<ComputeDtype> compute_dtype;
  // kCpu: run on this worker pool instead of one of `threads` workers of its own; a draft model
  // shares the target's, so the two never keep two sets of pinned helpers spinning on the same
  // CPUs. The models' forwards must then come from one thread at a time (the engine thread).
  std::shared_ptr<WorkerPool> worker_pool;
};

// A row-major [rows, cols] matrix: either owned (converted at load) or pointing into the
// checkpoint's memory mapping, which the owning ModelWeights keeps alive.
struct WeightMatrix {
  const void* data = nullptr;  // [rows, cols] in dtype, or rows of blocks when `blocks` is set
  DType dtype = DType::kF32;
  // A GGUF matrix kept quantized (LoadOptions: GGUF file, auto dtype, KernelSet::kCpu): each row
  // is block_format_row_bytes(*blocks, cols) bytes of the file's blocks; `dtype` is unused.
  std::optional<ref::BlockFormat> blocks;
  int rows = 0;
  int cols = 0;
  AlignedBuffer owned;  // empty when data points into the mapping

  size_t row_bytes() const {
    return blocks ? ref::block_format_row_bytes(*blocks, cols)
                  : static_cast<size_t>(cols) * dtype_size(dtype);
  }
  size_t size_bytes() const { return static_cast<size_t>(rows) * row_bytes(); }
};

// Optional 1-D parameters are empty vectors when the architecture has none.
struct LayerWeights {
  WeightMatrix q_proj;                        // [n_heads * head_dim, hidden]
  WeightMatrix k_proj;                        // [n_kv_heads * head_dim, hidden]
  WeightMatrix v_proj;                        // [n_kv_heads * head_dim, hidden]
  WeightMatrix o_proj;                        // [hidden, n_heads * head_dim]
  std::vector<float> q_bias, k_bias, v_bias;  // [q_size], [kv_size], [kv_size] (attention_bias)
  std::vector<float> o_bias;                  // [hidden] (o_proj_bias)
  std::vector<float> q_norm, k_norm;          // [head_dim] (qk_norm, Qwen3)
  WeightMatrix gate_proj;                     // [intermediate, hidden]
  WeightMatrix up_proj;                       // [intermediate, hidden]
  WeightMatrix down_proj;                     // [hidden, intermediate]
  std::vector<float> gate_bias, up_bias;      // [intermediate] (mlp_bias)
  std::vector<float> down_bias;               // [hidden] (mlp_bias)
  std::vector<float> input_norm;              // [hidden] input_layernorm
  std::vector<float> post_attention_norm;     // [hidden] post_attention_layernorm
};

class ModelWeights {
 public:
  // Reads and checks every tensor `config` requires from `archive` (which this object then owns).
  // A missing tensor or a shape that disagrees with the config is kNotFound / kFormatError naming
  // the file and the tensor; unused extra tensors are ignored. `source` names the checkpoint in
  // messages (usually its directory).
  static Result<ModelWeights> load(std::unique_ptr<SafetensorsArchive> archive,
                                   const ModelConfig& config, const LoadOptions& options,
                                   const std::string& source);

  const WeightMatrix& embed_tokens() const { return embed_tokens_; }  // [vocab, hidden]
  // lm_head.weight, or the embedding when tie_word_embeddings.   [vocab, hidden]
  const WeightMatrix& lm_head() const { return tied_ ? embed_tokens_ : lm_head_; }
  const std::vector<float>& final_norm() const { return final_norm_; }  // [hidden]
  const std::vector<LayerWeights>& layers() const { return layers_; }
  size_t size_bytes() const;  // bytes of all matrices and vectors, owned or mapped

  // After a backend has packed the matrices into its own layout: drops every layer matrix and
  // lm_head and unmaps the checkpoint, so no second copy stays resident. keep_embedding: the
  // embedding stays (as an owned copy in embed_dtype, f32/bf16/f16; a quantized embedding as an
  // owned copy of its blocks); else it is dropped too.
  // Norms and biases stay. Errors: kResourceExhausted when the embedding copy cannot be made.
  Status release_matrices(bool keep_embedding, DType embed_dtype);
  bool matrices_released() const { return released_; }

 private:
  std::shared_ptr<const SafetensorsArchive> archive_;  // keeps mapped weights alive
  WeightMatrix embed_tokens_;
  WeightMatrix lm_head_;  // unused when tied_
  bool tied_ = false;
  bool released_ = false;
  std::vector<float> final_norm_;
  std::vector<LayerWeights> layers_;
};

}  // namespace xy
