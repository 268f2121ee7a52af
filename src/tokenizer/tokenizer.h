// xyserve's Hugging Face tokenizer: loads tokenizer.json (+ tokenizer_config.json) and encodes /
// decodes exactly as Hugging Face's tokenizers do for the BPE family (byte-level BPE as in GPT-2,
// Llama-3, Qwen2/3; SentencePiece-style BPE with byte fallback as in Llama-2, Mistral, Gemma).
//
// Pipeline of encode(): added tokens are cut out of the raw text first; every other section is
// normalized, pre-tokenized into words, and each word BPE-merged; with add_special_tokens the
// post-processor (e.g. TemplateProcessing's <bos>) wraps the ids.
//
// Thread-safety: a loaded Tokenizer is immutable apart from an internal, locked word cache, so
// encode/decode may be called concurrently from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/tokenizer_config.h"

namespace xy {

class BpeModel;
class Normalizer;
class PreTokenizer;
class PostProcessor;
class Decoder;

class Tokenizer {
 public:
  // Reads <model_dir>/tokenizer.json and, when present, <model_dir>/tokenizer_config.json.
  // Errors: kNotFound / kIoError for the files, kFormatError for malformed JSON (naming the file
  // and JSON path), kUnsupported for component types xyserve does not implement.
  static Result<std::unique_ptr<Tokenizer>> load_dir(const std::string& model_dir);
  // The same from in-memory JSON texts; `tokenizer_config_json` may be empty. `source_name`
  // prefixes error messages (usually the directory).
  static Result<std::unique_ptr<Tokenizer>> load_json(std::string_view tokenizer_json,
                                                      std::string_view tokenizer_config_json,
                                                      std::string_view source_name);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Hugging Face tokenizer.encode(text, add_special_tokens=...).ids. Invalid UTF-8 is
  // kInvalidArgument naming the byte offset.
  Result<std::vector<int32_t>> encode(std::string_view text, bool add_special_tokens = true) const;

  // Hugging Face tokenizer.decode(ids, skip_special_tokens=...): ids outside the vocabulary are
  // skipped; the result is valid UTF-8 (broken byte sequences become U+FFFD).
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;
  // decode() without transformers' clean_up_tokenization step (the streaming detokenizer applies
  // that itself, holding back text that a later token could still change).
  std::string decode_without_cleanup(std::span<const int32_t> ids, bool skip_special_tokens) const;
  bool clean_up_tokenization_spaces() const { return config_.clean_up_tokenization_spaces; }
  // Whether the decoder allows the streaming detokenizer to decode short windows of recent ids
  // (see Decoder::window_safe); otherwise it re-decodes from the first id.
  bool decoder_window_safe() const;

  // One past the largest token id (model vocabulary and added tokens): the embedding rows.
  int vocab_size() const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token's string (byte-level / metaspace form, as in tokenizer.json); "" for unknown ids.
  std::string id_to_token(int32_t id) const;
  // The raw bytes the token contributes in the middle of a text (Decoder::token_bytes): what a
  // grammar sees. nullopt for special added tokens (they are not text) and unknown ids.
  std::optional<std::string> token_bytes(int32_t id) const;

  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  std::optional<int32_t> pad_id() const { return pad_id_; }
  // "" when the tokenizer has no such token.
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }
  // Added tokens marked special (skipped by decode(skip_special_tokens=true)).
  bool is_special(int32_t id) const;
  const std::vector<AddedToken>& added_tokens() const { return added_.tokens(); }

  // The "default" chat template of tokenizer_config.json; "" when there is none.
  const std::string& chat_template() const;
  // A named template (tokenizer_config.json may list several, e.g. "tool_use"); nullopt if absent.
  std::optional<std::string> chat_template(std::string_view name) const;
  const TokenizerConfig& config() const { return config_; }

 private:
  Tokenizer();
  Status encode_section(std::string_view section, bool at_text_start,
                        std::vector<int32_t>& ids) const;
  Status encode_normalized(std::string_view text, bool at_text_start,
                           std::vector<int32_t>& ids) const;
  void resolve_special_ids();

  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Normalizer> normalizer_;         // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer_;    // may be null
  std::unique_ptr<PostProcessor> post_processor_;  // may be null
  std::unique_ptr<Decoder> decoder_;               // may be null: tokens joined with ' '
  AddedVocabulary added_;
  TokenizerConfig config_;
  std::string bos_token_, eos_token_;
  std::optional<int32_t> bos_id_, eos_id_, pad_id_;
};

// transformers' clean_up_tokenization: " ." -> ".", " n't" -> "n't", ... applied in order.
std::string clean_up_tokenization(std::string_view text);

}  // namespace xy
