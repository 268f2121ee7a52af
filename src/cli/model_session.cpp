#include "cli/model_session.h"

#include <algorithm>
#include <numeric>

#include "core/mapped_file.h"
#include "model/gguf/gguf_model.h"
#include "model/gguf/gguf_tokenizer.h"
#include "model/token_table_builder.h"
#include "tokenizer/tokenizer.h"

namespace xy::cli {

Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& model_path) {
  std::string gguf_path;
  if (!gguf::find_gguf(model_path, &gguf_path)) return Tokenizer::load_dir(model_path);
  // A GGUF model carries its tokenizer as metadata: read it as the tokenizer.json it encodes.
  XY_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> map, MappedFile::open(gguf_path));
  XY_ASSIGN_OR_RETURN(gguf::File file, gguf::parse_file(map->data(), map->size(), gguf_path));
  XY_ASSIGN_OR_RETURN(gguf::TokenizerFiles files, gguf::tokenizer_files_from_gguf(file, gguf_path));
  return Tokenizer::load_json(files.tokenizer_json, files.tokenizer_config_json, gguf_path);
}

Result<std::string> describe_weight_format(const std::string& model_path) {
  std::string gguf_path;
  if (gguf::find_gguf(model_path, &gguf_path)) {
    XY_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> map, MappedFile::open(gguf_path));
    XY_ASSIGN_OR_RETURN(gguf::File file, gguf::parse_file(map->data(), map->size(), gguf_path));
    return "gguf " + gguf::dominant_tensor_type(file);
  }
  XY_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(model_path));
  return "safetensors " + std::string(dtype_name(config.torch_dtype));
}

Result<DType> parse_dtype_flag(const std::string& name, const std::string& flag) {
  if (name == "f32") return DType::kF32;
  if (name == "bf16") return DType::kBF16;
  if (name == "f16") return DType::kF16;
  return invalid_argument(flag + ": unknown dtype '" + name + "' (use f32, bf16 or f16)");
}

Result<KernelSet> parse_kernels_flag(const std::string& name) {
  if (name == "cpu") return KernelSet::kCpu;
  if (name == "reference") return KernelSet::kReference;
  return invalid_argument("--kernels: unknown kernel set '" + name + "' (use cpu or reference)");
}

void add_model_flags(CLI::App& cmd, ModelSessionOptions& opts) {
  cmd.add_option("--dtype", opts.weight_dtype, "Weights in memory: auto|f32|bf16|f16")
      ->capture_default_str();
  cmd.add_option("--kv-dtype", opts.kv_dtype,
                 "KV cache dtype: auto (the weights' dtype) | f32 | bf16 | f16 | int8 (per "
                 "token-and-head scale)")
      ->capture_default_str();
  cmd.add_option("--block-size", opts.block_size, "KV cache block size (tokens)")
      ->capture_default_str();
  cmd.add_option("--kernels", opts.kernels,
                 "cpu (meta-kernels, default) | reference (plain reference kernels)");
  cmd.add_option("--threads", opts.threads, "Worker threads of the cpu kernels (0 = one per CPU)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option(
      "--gemm-tune", opts.gemm_tune,
      "SmoothGEMM tune table from `xyserve tune` (default: <model>/xyserve-gemm-tune.json "
      "when present)");
  cmd.add_option("--compute-dtype", opts.compute_dtype,
                 "Arithmetic of the matrix products: auto (the checkpoint's dtype, as vLLM: bf16 "
                 "dot products for bf16 weights when the CPU has AVX-512 BF16, else f32; "
                 "quantized GGUF weights keep their int8 products and attend in bf16) | f32 "
                 "(exact: f32 activations, bit-identical to the reference kernels) | bf16")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "f32", "bf16"}));
  cmd.add_option("--gemm-isa", opts.gemm_isa,
                 "SmoothGEMM kernels: avx512 | avx2 | scalar (f32 arithmetic, all bit-identical) "
                 "| avx512bf16 (bf16 dot products) (default: from --compute-dtype; XY_GEMM_ISA, "
                 "else the best this CPU runs, for f32)");
}

ModelSession::~ModelSession() = default;

Result<std::unique_ptr<ModelSession>> ModelSession::open(const ModelSessionOptions& opts) {
  std::unique_ptr<ModelSession> s(new ModelSession());
  LoadOptions load;
  if (opts.weight_dtype == "auto") {
    load.weight_dtype = std::nullopt;
  } else {
    XY_ASSIGN_OR_RETURN(DType d, parse_dtype_flag(opts.weight_dtype, "--dtype"));
    load.weight_dtype = d;
  }
  XY_ASSIGN_OR_RETURN(load.kernels, parse_kernels_flag(opts.kernels));
  load.threads = opts.threads;
  load.gemm_tune_file = opts.gemm_tune;
  load.gemm_isa = opts.gemm_isa;
  if (opts.compute_dtype == "auto") {
    load.compute_dtype = ComputeDtype::kAuto;
  } else if (opts.compute_dtype == "f32") {
    load.compute_dtype = ComputeDtype::kF32;
  } else if (opts.compute_dtype == "bf16") {
    load.compute_dtype = ComputeDtype::kBf16;
  } else {
    return invalid_argument("--compute-dtype must be auto, f32 or bf16, got '" +
                            opts.compute_dtype + "'");
  }
  if (opts.block_size < 1) return invalid_argument("--block-size must be >= 1");
  s->block_size_ = opts.block_size;
  if (opts.kv_dtype == "int8") {
    s->kv_dtype_ = DType::kI8;  // a KV-only type: codes with a per-token-per-head scale
  } else if (opts.kv_dtype != "auto") {
    XY_ASSIGN_OR_RETURN(s->kv_dtype_, parse_dtype_flag(opts.kv_dtype, "--kv-dtype"));
  }
  XY_ASSIGN_OR_RETURN(s->model_, Model::load(opts.model_dir, load));
  s->load_ = load;
  if (opts.kv_dtype == "auto") {
    s->kv_dtype_ = load.weight_dtype.value_or(s->model_->config().torch_dtype);
  }
  // A GGUF file has no generation_config.json: its EOS comes with the config and tokenizer.
  if (std::string gguf_path; !gguf::find_gguf(opts.model_dir, &gguf_path)) {
    XY_ASSIGN_OR_RETURN(s->defaults_, load_generation_defaults(opts.model_dir));
  }
  auto add_eos = [&](int id) {
    if (id >= 0 && std::find(s->eos_ids_.begin(), s->eos_ids_.end(), id) == s->eos_ids_.end()) {
      s->eos_ids_.push_back(id);
    }
  };
  for (int id : s->defaults_.eos_token_ids) add_eos(id);
  for (int id : s->model_->config().eos_token_ids) add_eos(id);
  if (opts.load_tokenizer) {
    XY_ASSIGN_OR_RETURN(s->tokenizer_, load_tokenizer(opts.model_dir));
    if (auto eos = s->tokenizer_->eos_id()) add_eos(*eos);
  }
  return s;
}

Result<std::vector<float>> ModelSession::prefill(const std::vector<int32_t>& tokens,
                                                 int max_total_tokens, bool all_logits) {
  if (tokens.empty()) return invalid_argument("the prompt has no tokens");
  const int total = std::max<int>(max_total_tokens, static_cast<int>(tokens.size()));
  const int num_blocks = (total + block_size_ - 1) / block_size_;
  XY_ASSIGN_OR_RETURN(KvCache cache, model_->make_kv_cache(num_blocks, block_size_, kv_dtype_));
  cache_ = std::make_unique<KvCache>(std::move(cache));
  blocks_.resize(num_blocks);
  std::iota(blocks_.begin(), blocks_.end(), 0);
  const TokenTable table =
      make_single_sequence_table(tokens, /*kv_len=*/0, blocks_, block_size_, all_logits);
  const size_t vocab = model_->config().vocab_size;
  std::vector<float> logits(table.logit_rows.size() * vocab);
  XY_RETURN_IF_ERROR(model_->forward(table, *cache_, logits.data()));
  return logits;
}

Result<std::vector<float>> ModelSession::decode(int32_t token, int kv_len) {
  if (cache_ == nullptr || kv_len + 1 > static_cast<int>(blocks_.size()) * block_size_) {
    return invalid_argument("decode past the end of the sequence's KV cache");
  }
  const int32_t one[1] = {token};
  const TokenTable table = make_single_sequence_table(one, kv_len, blocks_, block_size_, false);
  std::vector<float> logits(model_->config().vocab_size);
  XY_RETURN_IF_ERROR(model_->forward(table, *cache_, logits.data()));
  return logits;
}

}  // namespace xy::cli
