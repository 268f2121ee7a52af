// What the CLI's generate and logits commands share: a loaded model with its tokenizer and
// generation defaults, and a KV cache plus block list for one sequence at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/status.h"
#include "model/model.h"
#include "model/model_config.h"

namespace xy {
class Tokenizer;
}

namespace xy::cli {

struct ModelSessionOptions {
  std::string model_dir;
  std::string weight_dtype = "auto";  // auto (as stored) | f32 | bf16 | f16
  std::string kv_dtype = "auto";  // auto (the weights' dtype, as vLLM) | f32 | bf16 | f16 | int8
  int block_size = 16;
  bool load_tokenizer = true;
  std::string kernels = "cpu";  // cpu (meta-kernels) | reference (plain xy::ref, the oracle)
  int threads = 0;              // cpu kernels: worker threads (0 = one per CPU)
  std::string gemm_tune;        // cpu kernels: tune table (default: <model>/xyserve-gemm-tune.json)
  std::string gemm_isa;         // cpu kernels: SmoothGEMM ISA (empty: XY_GEMM_ISA, else the best)
  std::string compute_dtype = "auto";  // auto (the checkpoint's dtype, as vLLM) | f32 | bf16
};

// The tokenizer of a model: <dir>/tokenizer.json (+ tokenizer_config.json), or the metadata of a
// .gguf model (a file, or a directory holding one).
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& model_path);

// How the model's weights are stored, for /v1/models: "gguf Q4_K" (the type holding most bytes)
// or "safetensors bf16" (config.json's torch_dtype). Errors as loading would report them.
Result<std::string> describe_weight_format(const std::string& model_path);

// The flags of every command that loads a model: --dtype, --kv-dtype, --block-size, --kernels,
// --threads, --gemm-tune, --gemm-isa.
void add_model_flags(CLI::App& cmd, ModelSessionOptions& opts);

class ModelSession {
 public:
  static Result<std::unique_ptr<ModelSession>> open(const ModelSessionOptions& opts);
  ~ModelSession();

  Model& model() { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const GenerationDefaults& generation_defaults() const { return defaults_; }
  // EOS ids from generation_config.json, config.json and the tokenizer, deduplicated.
  const std::vector<int32_t>& eos_ids() const { return eos_ids_; }
  // The KV cache dtype: --kv-dtype, or with "auto" the weights' dtype (--dtype, else the
  // checkpoint's torch_dtype).
  DType kv_dtype() const { return kv_dtype_; }
  // How the model was loaded (--dtype, --kernels, --threads, --gemm-isa, --gemm-tune): a draft
  // model is loaded the same way, minus the target's tune table.
  const LoadOptions& load_options() const { return load_; }

  // Runs `tokens` as one prefill step (a fresh cache sized for max_total_tokens) and returns
  // logits of the last row only, or of every row when all_logits.
  Result<std::vector<float>> prefill(const std::vector<int32_t>& tokens, int max_total_tokens,
                                     bool all_logits);
  // Runs one decode step for `token` at logical position kv_len; returns its logits row.
  Result<std::vector<float>> decode(int32_t token, int kv_len);

 private:
  ModelSession() = default;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  GenerationDefaults defaults_;
  std::vector<int32_t> eos_ids_;
  LoadOptions load_;
  DType kv_dtype_ = DType::kF32;
  int block_size_ = 16;
  std::unique_ptr<KvCache> cache_;
  std::vector<int32_t> blocks_;  // this sequence's block table: 0 .. num_blocks-1
};

Result<DType> parse_dtype_flag(const std::string& name, const std::string& flag);
Result<KernelSet> parse_kernels_flag(const std::string& name);

}  // namespace xy::cli
