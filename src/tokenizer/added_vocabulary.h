// The "added_tokens" of tokenizer.json: strings matched verbatim in the input before
// normalization and BPE (leftmost, then longest match, as Hugging Face's AddedVocabulary does)
// and always encoded as their single id. `normalized` tokens are matched in the normalized text
// instead; lstrip/rstrip swallow adjacent whitespace; single_word only matches whole words.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_fields.h"

namespace xy {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// A piece of input: either a run of ordinary text or one added token.
struct TextSegment {
  size_t begin = 0, end = 0;  // byte range in the text that was split
  int32_t token_id = -1;      // the added token's id, -1 for ordinary text
};

class AddedVocabulary {
 public:
  static Result<AddedVocabulary> from_json(const tokjson::Json& added_tokens,
                                           std::string_view where);

  // Splits `text` at the added tokens whose `normalized` flag equals `normalized_pass`.
  std::vector<TextSegment> split(std::string_view text, bool normalized_pass) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* find_by_id(int32_t id) const;
  const AddedToken* find_by_content(std::string_view content) const;
  bool has_normalized_tokens() const { return has_normalized_; }

 private:
  // A byte trie over token contents, one per pass. Node 0 is the root.
  struct Trie {
    struct Node {
      std::unordered_map<uint8_t, int32_t> children;
      int32_t token_index = -1;  // index into tokens_ when a token ends here
    };
    std::vector<Node> nodes{Node{}};
    void insert(std::string_view key, int32_t token_index);
    // The longest token starting at text[pos]: its index, or -1.
    int32_t longest_match(std::string_view text, size_t pos, size_t& match_end) const;
  };
  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  Trie raw_trie_, normalized_trie_;
  bool has_normalized_ = false;
};

}  // namespace xy
