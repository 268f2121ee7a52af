// A tiny random checkpoint (the `tiny` preset: 4-layer GQA Llama, vocab 1024) written once per
// test executable to a temp dir, loaded as a Model + Tokenizer for engine tests, and helpers to
// build engines and prompts over it.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/check.h"
#include "engine/engine.h"
#include "model/gguf/gguf_convert.h"
#include "model/model.h"
#include "model/model_presets.h"
#include "model/random_checkpoint.h"
#include "tokenizer/tokenizer.h"

namespace xy::testing {

struct TinyModel {
  std::string dir;
  std::shared_ptr<const Model> model;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::vector<int32_t> eos_ids;
  int tokenizer_vocab = 0;
};

// The tokenizer (512 tokens) from `tokenizer_dir`, its EOS, and removal of t.dir at exit.
inline void finish_tiny_model(TinyModel& t, const std::string& tokenizer_dir) {
  Result<std::unique_ptr<Tokenizer>> tok = Tokenizer::load_dir(tokenizer_dir);
  XY_CHECK_MSG(tok.is_ok(), tok.status().to_string().c_str());
  t.tokenizer = std::shared_ptr<const Tokenizer>(std::move(*tok));
  if (auto eos = t.tokenizer->eos_id()) t.eos_ids.push_back(*eos);
  t.tokenizer_vocab = 512;
  static struct Cleanup {
    std::vector<std::string> dirs;
    ~Cleanup() {
      for (const std::string& d : dirs) std::filesystem::remove_all(d);
    }
  } cleanup;
  cleanup.dirs.push_back(t.dir);
}

// The `tiny` preset written with random weights stored as `stored` and loaded with `load`.
// The directory is removed at exit.
inline std::unique_ptr<TinyModel> load_tiny_model(const std::string& tag, DType stored,
                                                  const LoadOptions& load) {
  auto t = std::make_unique<TinyModel>();
  t->dir = (std::filesystem::temp_directory_path() /
            ("xy_engine_test_" + tag + std::to_string(::getpid())))
               .string();
  std::filesystem::remove_all(t->dir);
  Result<ModelPreset> preset = find_model_preset("tiny");
  XY_CHECK(preset.is_ok());
  RandomCheckpointOptions opts;
  opts.dtype = stored;
  opts.seed = 11;
  opts.tokenizer_vocab_size = 512;
  const Status st = write_random_checkpoint(preset->config, t->dir, opts);
  XY_CHECK_MSG(st.is_ok(), st.to_string().c_str());
  Result<std::unique_ptr<Model>> model = Model::load(t->dir, load);
  XY_CHECK_MSG(model.is_ok(), model.status().to_string().c_str());
  t->model = std::shared_ptr<const Model>(std::move(*model));
  finish_tiny_model(*t, t->dir);
  return t;
}

// f32 weights, exact f32 arithmetic: the model most engine tests run. Loaded on first use.
inline const TinyModel& tiny_model() {
  static const std::unique_ptr<TinyModel> m = [] {
    LoadOptions load;
    load.weight_dtype = DType::kF32;
    return load_tiny_model("", DType::kF32, load);
  }();
  return *m;
}

// bf16 weights loaded as `xyserve serve` loads a checkpoint by default: as stored, with
// --compute-dtype auto (bf16 dot products where the CPU has AVX-512 BF16). Same tokenizer and
// vocabulary as tiny_model(). Loaded on first use.
inline const TinyModel& bf16_tiny_model() {
  static const std::unique_ptr<TinyModel> m = [] {
    LoadOptions load;
    load.weight_dtype = std::nullopt;
    load.compute_dtype = ComputeDtype::kAuto;
    return load_tiny_model("bf16_", DType::kBF16, load);
  }();
  return *m;
}

// The tiny-kquant preset (tiny widened to whole K-quant super-blocks: hidden 256, intermediate
// 512, 8 heads of 32), written as a GGUF file of `type` (xyserve quantize) and loaded as users run
// it: matrices kept quantized on QuantGEMM, --compute-dtype auto. Same tokenizer and vocabulary as
// tiny_model(), so the draft models and workloads of the engine tests apply unchanged. One per
// type, loaded on first use.
inline const TinyModel& quantized_tiny_model(gguf::OutType type) {
  static std::map<int, std::unique_ptr<TinyModel>> models;
  std::unique_ptr<TinyModel>& slot = models[static_cast<int>(type)];
  if (slot) return *slot;
  auto t = std::make_unique<TinyModel>();
  t->dir = (std::filesystem::temp_directory_path() /
            ("xy_engine_test_q" + std::to_string(static_cast<int>(type)) + "_" +
             std::to_string(::getpid())))
               .string();
  std::filesystem::remove_all(t->dir);
  Result<ModelPreset> preset = find_model_preset("tiny-kquant");
  XY_CHECK(preset.is_ok());
  const ModelConfig& config = preset->config;
  RandomCheckpointOptions opts;
  opts.dtype = DType::kF32;
  opts.seed = 13;
  opts.tokenizer_vocab_size = 512;
  XY_CHECK(write_random_checkpoint(config, t->dir + "/hf", opts).is_ok());
  const std::string file = t->dir + "/model.gguf";
  const Status st = gguf::convert_checkpoint_to_gguf(t->dir + "/hf", file, type);
  XY_CHECK_MSG(st.is_ok(), st.to_string().c_str());
  LoadOptions load;
  load.weight_dtype = std::nullopt;          // as stored: quantized matrices stay quantized
  load.compute_dtype = ComputeDtype::kAuto;  // as the CLI: bf16 attention on AVX-512 BF16
  Result<std::unique_ptr<Model>> model = Model::load(file, load);
  XY_CHECK_MSG(model.is_ok(), model.status().to_string().c_str());
  t->model = std::shared_ptr<const Model>(std::move(*model));
  finish_tiny_model(*t, t->dir + "/hf");
  slot = std::move(t);
  return *slot;
}

// An engine config with an explicit budget and pool (no calibration, no RAM probing).
inline EngineConfig test_engine_config(int budget = 64, int block_size = 16, int num_blocks = 256,
                                       bool prefix_caching = true, bool loop_thread = false) {
  EngineConfig c;
  c.max_num_batched_tokens = budget;
  c.max_num_seqs = 32;
  c.block_size = block_size;
  c.num_kv_blocks = num_blocks;
  c.enable_prefix_caching = prefix_caching;
  c.run_loop_thread = loop_thread;
  return c;
}

inline std::unique_ptr<Engine> make_engine(const EngineConfig& config,
                                           std::unique_ptr<spec::Proposer> proposer = nullptr,
                                           const TinyModel* model = nullptr) {
  const TinyModel& m = model != nullptr ? *model : tiny_model();
  EngineParts parts;
  parts.model = m.model;
  parts.tokenizer = m.tokenizer;
  parts.eos_token_ids = m.eos_ids;
  parts.proposer = std::move(proposer);
  Result<std::unique_ptr<Engine>> e = Engine::create(std::move(parts), config);
  XY_CHECK_MSG(e.is_ok(), e.status().to_string().c_str());
  return std::move(*e);
}

inline std::vector<int32_t> random_tokens(std::mt19937& rng, int n, int vocab) {
  std::uniform_int_distribution<int32_t> dist(3, vocab - 1);
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int32_t& t : out) t = dist(rng);
  return out;
}

inline EngineRequest greedy_request(std::vector<int32_t> prompt, int max_tokens) {
  EngineRequest r;
  r.prompt_tokens = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  r.stop.ignore_eos = true;
  return r;
}

}  // namespace xy::testing
