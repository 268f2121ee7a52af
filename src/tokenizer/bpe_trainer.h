// Trains a byte-level BPE vocabulary (GPT-2 / Llama-3 / Qwen2 style) on a text corpus and writes
// it as a standard Hugging Face tokenizer.json + tokenizer_config.json, loadable by any HF
// tokenizer implementation. Used by `xyserve make-model` and to build the shipped models' tokenizer.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace xy {

struct BpeTrainerOptions {
  int vocab_size = 4096;  // total ids including the 256 byte tokens and the special tokens
  int min_pair_frequency = 2;  // stop merging when the best pair is rarer than this
  std::vector<std::string> special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  std::string bos_token;                      // "" = none (add_bos_token false)
  std::string eos_token = "<|im_end|>";       // must be one of special_tokens
  std::string pad_token = "<|endoftext|>";    // must be one of special_tokens or ""
  std::string chat_template;                  // "" = the ChatML template of chatml_template()
  int model_max_length = 8192;
};

struct TrainedBpe {
  std::vector<std::string> vocab;   // id -> token string (byte-level alphabet), specials last
  std::vector<std::pair<std::string, std::string>> merges;  // rank order
  std::string tokenizer_json;       // serialized tokenizer.json
  std::string tokenizer_config_json;  // serialized tokenizer_config.json
};

// The pre-tokenizer regex written into tokenizer.json and used during training (Llama-3's).
const std::string& byte_level_split_regex();

// ChatML, as SmolLM2 and Qwen use it, with a default system prompt when none is given.
std::string chatml_template();

// Deterministic: the same corpus and options give byte-identical files. Ties between equally
// frequent pairs break towards the lexicographically smaller pair.
Result<TrainedBpe> train_byte_level_bpe(const std::string& corpus, const BpeTrainerOptions& opts);

// Writes tokenizer.json and tokenizer_config.json into dir.
Status write_tokenizer_files(const TrainedBpe& bpe, const std::string& dir);

}  // namespace xy
