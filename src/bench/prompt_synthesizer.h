// Prompts of an exact token length for the target model's tokenizer, cut from real text.
//
// The corpus (real user prompts) is encoded once into a token pool. A prompt of n tokens is a
// slice of the pool, decoded to text and re-encoded; the re-encoding is trimmed or padded at
// the token level and decoded again until encode(text) has exactly n tokens (byte-level BPE
// merges across a cut, so one pass is not always enough). Mooncake hash ids map to fixed
// 512-token slices of the pool, so requests that share leading hash ids share the same
// leading text and a prefix cache sees the same prefix tokens.
//
// Thread-safety: make() is const and may run concurrently (Tokenizer is thread-safe).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace xy::bench {

class PromptSynthesizer {
 public:
  // `tokenizer` must outlive the synthesizer. kInvalidArgument when the corpus encodes to
  // fewer than 512 tokens.
  static Result<PromptSynthesizer> create(const Tokenizer& tokenizer, std::string_view corpus);

  // Text whose encode(text, add_special_tokens=true) has exactly `num_tokens` ids (the special
  // tokens the tokenizer adds, e.g. a BOS, count). `hash_ids` (may be empty) choose shared
  // 512-token prefix blocks; otherwise `request_seed` picks where in the pool the text starts.
  // kInternal if no exact length was reached (never seen on the supported tokenizers);
  // kInvalidArgument when num_tokens is below the tokenizer's special-token count + 1.
  Result<std::string> make(int num_tokens, std::span<const int64_t> hash_ids,
                           uint64_t request_seed) const;

  // Special tokens encode() adds around any text (0 for GPT-2 style, 1 for a BOS).
  int special_tokens() const { return special_tokens_; }
  size_t pool_size() const { return pool_.size(); }

 private:
  PromptSynthesizer(const Tokenizer& tokenizer) : tok_(&tokenizer) {}
  void append_pool(std::vector<int32_t>& ids, uint64_t offset, size_t n) const;

  const Tokenizer* tok_;
  std::vector<int32_t> pool_;    // the corpus' token ids
  std::vector<int32_t> filler_;  // ids of " the": a pad that encodes back to itself
  int special_tokens_ = 0;
};

// The prompt text shipped in the repository (Arena-Hard v0.1 user prompts, one per JSONL row),
// joined by blank lines: <data_dir>/prompts/arena-hard/arena-hard-v0.1_question.jsonl.
Result<std::string> load_prompt_corpus(const std::string& data_dir);

// A corpus file: `.jsonl` rows of {"prompt": string} joined by blank lines (the Arena-Hard
// layout), any other file taken as plain UTF-8 text.
Result<std::string> load_prompt_corpus_file(const std::string& path);

// The synthesizer both benchmarks cut prompts with: from `corpus_file` when it is not empty
// (load_prompt_corpus_file), else from the shipped prompts under data_dir (load_prompt_corpus).
Result<PromptSynthesizer> make_prompt_synthesizer(const Tokenizer& tokenizer,
                                                  const std::string& corpus_file,
                                                  const std::string& data_dir);

}  // namespace xy::bench
