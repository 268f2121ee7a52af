// The BPE model of tokenizer.json: vocabulary, ranked merges, and the merge loop that turns one
// pre-tokenized word into token ids. Words are cached (bounded, sharded, mutex-protected) because
// real text repeats them.
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

class BpeWordCache;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // `config` is tokenizer.json's "model" object with type "BPE"; `where` names it in errors.
  static Result<std::unique_ptr<BpeModel>> from_json(const tokjson::Json& config,
                                                     std::string_view where);
  ~BpeModel();

  // Appends the ids of one pre-tokenized word (valid UTF-8). Thread-safe.
  Status encode_word(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // nullptr when `id` is not in the model vocabulary.
  const std::string* id_to_token(int32_t id) const;
  // One past the largest id in the vocabulary.
  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }
  const std::optional<std::string>& unk_token() const { return unk_token_; }

 private:
  BpeModel();
  // Runs the rank-priority merge loop on the word's initial symbols.
  Status merge_word(std::string_view word, std::vector<int32_t>& out) const;

  struct Merge {
    int32_t rank;    // lower merges first
    int32_t result;  // id of the merged token
  };
  TokenIdMap vocab_;
  std::vector<std::string> id_to_token_;        // [vocab_size]; "" for holes
  std::vector<uint8_t> id_present_;             // [vocab_size]
  std::unordered_map<uint64_t, Merge> merges_;  // key: (left id << 32) | right id
  std::optional<std::string> unk_token_;
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  int32_t byte_token_ids_[256];  // id of "<0xAB>" or -1
  // Id of each BMP code point as a single-character token, or -1: skips hashing for the initial
  // symbols of a word (used only when there is no subword prefix / word suffix to apply).
  std::vector<int32_t> bmp_char_ids_;  // [0x10000]
  std::unique_ptr<BpeWordCache> cache_;
};

}  // namespace xy
