#include "model/random_checkpoint.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/aligned_buffer.h"
#include "model/model_presets.h"
#include "model/safetensors.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/builtin_corpus.h"

namespace xy {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Approximately N(mean, stddev²): an Irwin-Hall sum of four 16-bit uniforms, cheap enough to
// fill a billion weights in seconds. Exact normality does not matter for random weights.
void fill_random(float* out, int64_t n, float mean, float stddev, uint64_t seed) {
  uint64_t state = seed;
  constexpr float kScale = 1.7320508f / 65536.0f;  // sqrt(3) / 2^16: unit variance
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = splitmix64(state);
    const float sum = static_cast<float>((r & 0xffff) + ((r >> 16) & 0xffff) +
                                         ((r >> 32) & 0xffff) + (r >> 48));
    out[i] = mean + stddev * (sum - 2.0f * 65535.0f) * kScale;
  }
}

struct PlannedTensor {
  std::string name;
  std::vector<int64_t> shape;
  float mean;    // 1 for norm weights, 0 otherwise
  float stddev;  // 0.1 for norms, 0.02 for matrices and biases (the fixtures' recipe)
};

std::vector<PlannedTensor> plan_tensors(const ModelConfig& c) {
  const int64_t h = c.hidden_size, q = c.q_size(), kv = c.kv_size(), f = c.intermediate_size;
  std::vector<PlannedTensor> t;
  t.push_back({"model.embed_tokens.weight", {c.vocab_size, h}, 0.0f, 0.02f});
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", {h}, 1.0f, 0.1f});
    t.push_back({p + "self_attn.q_proj.weight", {q, h}, 0.0f, 0.02f});
    t.push_back({p + "self_attn.k_proj.weight", {kv, h}, 0.0f, 0.02f});
    t.push_back({p + "self_attn.v_proj.weight", {kv, h}, 0.0f, 0.02f});
    t.push_back({p + "self_attn.o_proj.weight", {h, q}, 0.0f, 0.02f});
    if (c.attention_bias) {
      t.push_back({p + "self_attn.q_proj.bias", {q}, 0.0f, 0.02f});
      t.push_back({p + "self_attn.k_proj.bias", {kv}, 0.0f, 0.02f});
      t.push_back({p + "self_attn.v_proj.bias", {kv}, 0.0f, 0.02f});
    }
    if (c.o_proj_bias) t.push_back({p + "self_attn.o_proj.bias", {h}, 0.0f, 0.02f});
    if (c.qk_norm) {
      t.push_back({p + "self_attn.q_norm.weight", {c.head_dim}, 1.0f, 0.1f});
      t.push_back({p + "self_attn.k_norm.weight", {c.head_dim}, 1.0f, 0.1f});
    }
    t.push_back({p + "post_attention_layernorm.weight", {h}, 1.0f, 0.1f});
    t.push_back({p + "mlp.gate_proj.weight", {f, h}, 0.0f, 0.02f});
    t.push_back({p + "mlp.up_proj.weight", {f, h}, 0.0f, 0.02f});
    t.push_back({p + "mlp.down_proj.weight", {h, f}, 0.0f, 0.02f});
    if (c.mlp_bias) {
      t.push_back({p + "mlp.gate_proj.bias", {f}, 0.0f, 0.02f});
      t.push_back({p + "mlp.up_proj.bias", {f}, 0.0f, 0.02f});
      t.push_back({p + "mlp.down_proj.bias", {h}, 0.0f, 0.02f});
    }
  }
  t.push_back({"model.norm.weight", {h}, 1.0f, 0.1f});
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", {c.vocab_size, h}, 0.0f, 0.02f});
  return t;
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text << '\n';
  if (!f) return io_error("cannot write " + path);
  return Status::ok();
}

}  // namespace

Status write_random_checkpoint(ModelConfig config, const std::string& out_dir,
                               const RandomCheckpointOptions& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_empty(out_dir, ec)) {
    return invalid_argument("output directory '" + out_dir + "' exists and is not empty");
  }
  fs::create_directories(out_dir, ec);
  if (ec) return io_error("cannot create directory '" + out_dir + "': " + ec.message());

  // Tokenizer first: the model's special-token ids come from it.
  BpeTrainerOptions tok_opts;
  tok_opts.vocab_size = opts.tokenizer_vocab_size > 0 ? opts.tokenizer_vocab_size
                                                      : std::min(config.vocab_size, 2048);
  if (tok_opts.vocab_size > config.vocab_size) {
    return invalid_argument("tokenizer vocabulary (" + std::to_string(tok_opts.vocab_size) +
                            ") is larger than the model's vocab_size (" +
                            std::to_string(config.vocab_size) + ")");
  }
  tok_opts.model_max_length = config.max_position_embeddings;
  tok_opts.min_pair_frequency = 1;  // the built-in corpus is small: use every pair it has
  XY_ASSIGN_OR_RETURN(TrainedBpe bpe, train_byte_level_bpe(builtin_tokenizer_corpus(), tok_opts));
  XY_RETURN_IF_ERROR(write_tokenizer_files(bpe, out_dir));
  auto token_id = [&](const std::string& t) {
    for (size_t i = 0; i < bpe.vocab.size(); ++i) {
      if (bpe.vocab[i] == t) return static_cast<int>(i);
    }
    return -1;
  };
  const int im_end = token_id("<|im_end|>"), endoftext = token_id("<|endoftext|>");
  config.bos_token_ids = {endoftext};
  config.eos_token_ids = {im_end, endoftext};
  config.torch_dtype = opts.dtype;

  XY_RETURN_IF_ERROR(write_text(out_dir + "/config.json", model_config_to_json(config)));
  nlohmann::ordered_json gen = {{"bos_token_id", endoftext},
                                {"eos_token_id", {im_end, endoftext}},
                                {"do_sample", true},
                                {"temperature", 0.7},
                                {"top_p", 0.9},
                                {"transformers_version", "4.51.3"}};
  XY_RETURN_IF_ERROR(write_text(out_dir + "/generation_config.json", gen.dump(2)));

  const std::vector<PlannedTensor> planned = plan_tensors(config);
  std::vector<AlignedBuffer> storage;
  std::vector<TensorToWrite> tensors;
  storage.reserve(planned.size());
  std::vector<float> scratch;
  for (const PlannedTensor& p : planned) {
    int64_t n = 1;
    for (int64_t d : p.shape) n *= d;
    scratch.resize(static_cast<size_t>(n));
    fill_random(scratch.data(), n, p.mean, p.stddev, opts.seed ^ hash_name(p.name));
    storage.emplace_back(static_cast<size_t>(n) * dtype_size(opts.dtype));
    convert_from_f32(opts.dtype, scratch.data(), storage.back().data(), static_cast<size_t>(n));
    tensors.push_back({p.name, opts.dtype, p.shape, storage.back().data()});
  }
  return write_safetensors(out_dir + "/model.safetensors", tensors);
}

}  // namespace xy
