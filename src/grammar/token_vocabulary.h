// The model's vocabulary as the grammar sees it: each token id's raw bytes (Tokenizer::
// token_bytes), and the ids sorted by those bytes with the length of the prefix each shares with
// the previous one, which is a trie walked in order: the mask computation advances the automaton
// only past the shared prefix, and skips every token under a prefix the grammar rejects.
//
// Special tokens and ids without text (padding rows past the tokenizer) have no bytes: a grammar
// never allows them; stop tokens are the matcher's business (matcher.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace xy {
class Tokenizer;
}

namespace xy::grammar {

class TokenVocabulary {
 public:
  // vocab_size: the model's logit rows (>= the tokenizer's vocabulary; extra rows get no bytes).
  static std::shared_ptr<const TokenVocabulary> from_tokenizer(const Tokenizer& tokenizer,
                                                               int vocab_size);
  // For tests: token i has bytes tokens[i] (empty = no text).
  static std::shared_ptr<const TokenVocabulary> from_bytes(std::vector<std::string> tokens);

  int size() const { return static_cast<int>(bytes_.size()); }
  std::string_view bytes(int32_t id) const { return bytes_[static_cast<size_t>(id)]; }
  // Ids with non-empty bytes, sorted by bytes; shared_prefix()[i]: bytes shared with sorted[i-1].
  const std::vector<int32_t>& sorted() const { return sorted_; }
  const std::vector<int32_t>& shared_prefix() const { return shared_prefix_; }

 private:
  void index();
  std::vector<std::string> bytes_;
  std::vector<int32_t> sorted_;
  std::vector<int32_t> shared_prefix_;
};

}  // namespace xy::grammar
