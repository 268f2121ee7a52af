// Writes a complete Hugging Face checkpoint directory with random weights: config.json,
// generation_config.json, model.safetensors, and a byte-level BPE tokenizer.json +
// tokenizer_config.json (ChatML template) trained on a small built-in English corpus.
#pragma once

#include <cstdint>
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "model/model_config.h"

namespace xy {

struct RandomCheckpointOptions {
  DType dtype = DType::kBF16;  // dtype of the stored weights
  uint64_t seed = 0;           // same seed, same bytes
  // Tokenizer size; 0 = min(vocab_size, 2048). The model's vocab may be larger than the
  // tokenizer's (as in real Qwen checkpoints); the extra rows are never produced by encode.
  int tokenizer_vocab_size = 0;
};

// Fails with kInvalidArgument when out_dir exists and is not empty.
Status write_random_checkpoint(ModelConfig config, const std::string& out_dir,
                               const RandomCheckpointOptions& opts);

}  // namespace xy
