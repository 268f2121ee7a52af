#include "model/model.h"

#include <filesystem>
#include <string>

#include "kernels/cpu/gemm_tune_table.h"
#include "model/gguf/gguf_model.h"
#include "model/safetensors.h"
#include "model/token_table_validation.h"

namespace xy {

namespace {

// The config values the forward pass relies on, checked once (a hand-made config could violate
// them even when config.json parsing accepted it).
Status check_config(const ModelConfig& c) {
  if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.intermediate_size <= 0 ||
      c.num_hidden_layers <= 0 || c.num_attention_heads <= 0 || c.num_key_value_heads <= 0 ||
      c.head_dim <= 0) {
    return invalid_argument("model config: sizes must be positive");
  }
  if (c.head_dim % 2 != 0) return invalid_argument("model config: head_dim must be even");
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return invalid_argument("model config: num_attention_heads (" +
                            std::to_string(c.num_attention_heads) +
                            ") is not a multiple of num_key_value_heads (" +
                            std::to_string(c.num_key_value_heads) + ")");
  }
  return Status::ok();
}

// The tune table a kCpu load uses: the named file (must load), else <dir>/xyserve-gemm-tune.json
// when present, else none.
Result<std::shared_ptr<const cpu::GemmTuneTable>> load_tune_table(const std::string& dir,
                                                                  const LoadOptions& options) {
  std::string path = options.gemm_tune_file;
  if (path.empty()) {
    const std::string beside = dir + "/xyserve-gemm-tune.json";
    std::error_code ec;
    if (!std::filesystem::exists(beside, ec)) return std::shared_ptr<const cpu::GemmTuneTable>();
    path = beside;
  }
  XY_ASSIGN_OR_RETURN(cpu::GemmTuneTable table, cpu::GemmTuneTable::load(path));
  return std::shared_ptr<const cpu::GemmTuneTable>(
      std::make_shared<cpu::GemmTuneTable>(std::move(table)));
}

}  // namespace

Model::Model(ModelConfig config, ModelWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

Result<std::unique_ptr<Model>> Model::from_parts(ModelConfig config, ModelWeights weights,
                                                 const LoadOptions& options) {
  return assemble(std::move(config), std::move(weights), options, nullptr);
}

Result<std::unique_ptr<Model>> Model::assemble(ModelConfig config, ModelWeights weights,
                                               const LoadOptions& options,
                                               std::shared_ptr<const cpu::GemmTuneTable> tune) {
  XY_RETURN_IF_ERROR(check_config(config));
  if (weights.layers().size() != static_cast<size_t>(config.num_hidden_layers)) {
    return invalid_argument("model: weights have " + std::to_string(weights.layers().size()) +
                            " layers, config " + std::to_string(config.num_hidden_layers));
  }
  std::unique_ptr<Model> model(new Model(std::move(config), std::move(weights)));
  if (options.kernels == KernelSet::kReference) {
    model->backend_ = make_reference_backend(model->config_, model->weights_);
    return model;
  }
  CpuBackendOptions cpu;
  cpu.storage = options.weight_dtype;
  cpu.threads = options.threads;
  cpu.tune = std::move(tune);
  cpu.gemm_isa = options.gemm_isa;
  cpu.compute_dtype = options.compute_dtype;
  cpu.pool = options.worker_pool;
  XY_ASSIGN_OR_RETURN(model->backend_, make_cpu_backend(model->config_, model->weights_, cpu));
  return model;
}

Result<std::unique_ptr<Model>> Model::load(const std::string& dir, const LoadOptions& options) {
  if (std::string gguf_path; gguf::find_gguf(dir, &gguf_path)) return load_gguf(gguf_path, options);
  XY_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(dir));
  XY_RETURN_IF_ERROR(check_config(config));
  XY_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsArchive> archive,
                      SafetensorsArchive::open_dir(dir));
  std::shared_ptr<const cpu::GemmTuneTable> tune;
  LoadOptions weight_options = options;
  if (options.kernels == KernelSet::kCpu) {
    XY_ASSIGN_OR_RETURN(tune, load_tune_table(dir, options));
    // The packer converts while it packs: keep the matrices as stored (mapped, no copy), so
    // only the packed panels end up resident.
    weight_options.weight_dtype = std::nullopt;
  }
  XY_ASSIGN_OR_RETURN(ModelWeights weights,
                      ModelWeights::load(std::move(archive), config, weight_options, dir));
  return assemble(std::move(config), std::move(weights), options, std::move(tune));
}

Result<std::unique_ptr<Model>> Model::load_gguf(const std::string& path,
                                                const LoadOptions& options) {
  // With the CPU kernels and no --dtype, quantized matrices run quantized (QuantGEMM). Otherwise
  // they become bf16, or f32 when f32 weights were asked for (then exactly as encoded).
  const bool keep_blocks = options.kernels == KernelSet::kCpu && !options.weight_dtype;
  const DType dequant = options.weight_dtype == DType::kF32 ? DType::kF32 : DType::kBF16;
  XY_ASSIGN_OR_RETURN(gguf::GgufModel g, gguf::open_gguf_model(path, dequant, keep_blocks));
  XY_RETURN_IF_ERROR(check_config(g.config));
  std::shared_ptr<const cpu::GemmTuneTable> tune;
  LoadOptions weight_options = options;
  if (options.kernels == KernelSet::kCpu) {
    XY_ASSIGN_OR_RETURN(
        tune, load_tune_table(std::filesystem::path(path).parent_path().string(), options));
    weight_options.weight_dtype = std::nullopt;
  }
  XY_ASSIGN_OR_RETURN(ModelWeights weights,
                      ModelWeights::load(std::move(g.archive), g.config, weight_options, path));
  return assemble(std::move(g.config), std::move(weights), options, std::move(tune));
}

Result<KvCache> Model::make_kv_cache(int num_blocks, int block_size, DType dtype) const {
  return KvCache::create(KvCache::shape_for(config_, num_blocks, block_size, dtype));
}

Status Model::forward(const TokenTable& table, KvCache& cache, float* logits) {
  return forward(table, cache, logits, own_scratch_);
}

Status Model::forward(const TokenTable& table, KvCache& cache, float* logits,
                      ForwardScratch& s) const {
  const KvCacheShape& shape = cache.shape();
  if (shape.num_layers != config_.num_hidden_layers ||
      shape.n_kv_heads != config_.num_key_value_heads || shape.head_dim != config_.head_dim) {
    return invalid_argument("forward: KV cache shaped for " + std::to_string(shape.num_layers) +
                            " layers x " + std::to_string(shape.n_kv_heads) + " kv heads x " +
                            std::to_string(shape.head_dim) + " head_dim does not fit the model");
  }
  XY_RETURN_IF_ERROR(validate_token_table(
      table, TokenTableLimits{config_.vocab_size, shape.num_blocks, shape.block_size}));
  if (logits == nullptr && !table.logit_rows.empty()) {
    return invalid_argument("forward: logits requested but no output buffer given");
  }
  backend_->forward(table, cache, logits, s);
  return Status::ok();
}

}  // namespace xy
