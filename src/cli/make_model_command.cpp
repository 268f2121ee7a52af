// `xyserve make-model`: write a random-weight Hugging Face checkpoint with a real architecture's
// shapes, for tests and benchmarks that must not download anything.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "model/model_presets.h"
#include "model/random_checkpoint.h"

namespace xy::cli {

namespace {
struct MakeModelArgs {
  std::string preset;
  std::string out;
  std::string dtype = "bf16";
  uint64_t seed = 0;
  int tokenizer_vocab = 0;
};
}  // namespace

CommandRunner add_make_model_command(CLI::App& app) {
  auto args = std::make_shared<MakeModelArgs>();
  CLI::App* cmd = app.add_subcommand(
      "make-model", "Write a random-weight checkpoint (HF layout) with a real model's shapes");
  std::string presets;
  for (const ModelPreset& p : model_presets()) presets += "\n  " + p.name + ": " + p.description;
  cmd->add_option("--preset", args->preset, "Architecture to copy:" + presets)->required();
  cmd->add_option("--out", args->out, "Output directory (must not exist or be empty)")->required();
  cmd->add_option("--dtype", args->dtype, "Stored weight dtype")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  cmd->add_option("--seed", args->seed, "Random seed (same seed, same files)");
  cmd->add_option("--tokenizer-vocab", args->tokenizer_vocab,
                  "Tokenizer vocabulary size (default: min(model vocab, 2048))");
  return [args]() {
    auto preset = find_model_preset(args->preset);
    if (!preset.is_ok()) {
      std::fprintf(stderr, "xyserve make-model: %s\n", preset.status().message().c_str());
      return 2;
    }
    RandomCheckpointOptions opts;
    opts.dtype = args->dtype == "f32"   ? DType::kF32
                 : args->dtype == "f16" ? DType::kF16
                                        : DType::kBF16;
    opts.seed = args->seed;
    opts.tokenizer_vocab_size = args->tokenizer_vocab;
    Status st = write_random_checkpoint(preset->config, args->out, opts);
    if (!st.is_ok()) {
      std::fprintf(stderr, "xyserve make-model: %s\n", st.message().c_str());
      return 1;
    }
    std::printf("wrote %s (%s, %s weights) to %s\n", args->preset.c_str(),
                preset->description.c_str(), args->dtype.c_str(), args->out.c_str());
    return 0;
  };
}

}  // namespace xy::cli
