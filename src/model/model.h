// A Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) running one scheduler step — any mix of
// prefill chunks, decodes and verify segments described by a TokenTable — over a paged KV cache.
// Architecture differences are flags of ModelConfig (biases, q/k norm, sliding window, RoPE
// scaling), set per architecture in one place (model_config.cpp); this file never switches on the
// architecture. Kernels: a ForwardBackend (forward_backend.h) chosen by LoadOptions::kernels —
// the CPU meta-kernels by default, or the plain xy::ref kernels (the oracle).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/forward_backend.h"
#include "model/kv_cache.h"
#include "model/model_config.h"
#include "model/token_table.h"
#include "model/weights.h"

namespace xy {

class Model {
 public:
  // Reads <dir>/config.json and the checkpoint (model.safetensors or a sharded index), or a GGUF
  // model when `dir` is a .gguf file or a directory holding one (model/gguf/gguf_model.h), and with
  // KernelSet::kCpu the GEMM tune table (LoadOptions::gemm_tune_file). Errors name the file and
  // key / tensor (kNotFound, kFormatError, kUnsupported, kResourceExhausted).
  static Result<std::unique_ptr<Model>> load(const std::string& dir,
                                             const LoadOptions& options = {});
  // From already-loaded parts (tests, converters). Uses options.kernels, options.threads and
  // options.weight_dtype (packed panel dtype; the weights keep theirs); the tune file is not read.
  static Result<std::unique_ptr<Model>> from_parts(ModelConfig config, ModelWeights weights,
                                                   const LoadOptions& options = {});

  const ModelConfig& config() const { return config_; }
  // With KernelSet::kCpu the matrices live packed in the backend: weights() then holds the norms,
  // the biases and (untied models only) the embedding.
  const ModelWeights& weights() const { return weights_; }
  KernelSet kernels() const { return backend_->kernels(); }
  int num_threads() const { return backend_->num_threads(); }
  // The CPU kernels' worker pool (null with the reference kernels): LoadOptions::worker_pool of
  // a model that should share it.
  std::shared_ptr<WorkerPool> worker_pool() const { return backend_->worker_pool(); }
  // kF32 or kBf16, as LoadOptions::compute_dtype resolved for these weights and this CPU.
  ComputeDtype compute_dtype() const { return backend_->compute_dtype(); }

  // A zeroed KV cache shaped for this model.
  Result<KvCache> make_kv_cache(int num_blocks, int block_size, DType dtype) const;

  // Runs one step: writes the K/V of every row of `table` into `cache` at its slot, and the
  // logits of table.logit_rows (in that order) into logits[logit_rows.size(), vocab_size].
  // kInvalidArgument (nothing written) when the table fails validate_token_table or the cache
  // does not fit the model. Thread-safety: with the reference kernels, concurrent calls need
  // distinct scratch and caches; with the CPU kernels one call at a time per Model (the steps
  // share the model's worker pool, and a step already uses every worker).
  Status forward(const TokenTable& table, KvCache& cache, float* logits,
                 ForwardScratch& scratch) const;
  // Same, with a scratch owned by the model (so not callable concurrently).
  Status forward(const TokenTable& table, KvCache& cache, float* logits);

 private:
  Model(ModelConfig config, ModelWeights weights);
  // A .gguf file (see model/gguf/gguf_model.h), reached through load().
  static Result<std::unique_ptr<Model>> load_gguf(const std::string& path,
                                                  const LoadOptions& options);
  static Result<std::unique_ptr<Model>> assemble(ModelConfig config, ModelWeights weights,
                                                 const LoadOptions& options,
                                                 std::shared_ptr<const cpu::GemmTuneTable> tune);

  ModelConfig config_;
  ModelWeights weights_;
  std::unique_ptr<ForwardBackend> backend_;  // reads config_ and weights_
  ForwardScratch own_scratch_;
};

}  // namespace xy
