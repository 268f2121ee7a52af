// tokenizer_config.json: the transformers-side settings around tokenizer.json (special token
// strings, add_bos/eos_token, chat templates, decode clean-up, context length). Every field is
// optional; the file itself is optional.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace xy {

struct TokenizerConfig {
  std::optional<std::string> bos_token, eos_token, pad_token, unk_token;
  std::optional<bool> add_bos_token, add_eos_token;  // unset when the file does not say
  // transformers' decode() clean-up (" ." -> "." ...). tokenizers.js defaults it to true.
  bool clean_up_tokenization_spaces = true;
  std::optional<int64_t> model_max_length;            // unset when absent or absurd (1e30 sentinel)
  std::map<std::string, std::string> chat_templates;  // name -> Jinja source; "default" first
  std::vector<std::string> additional_special_tokens;
  std::string tokenizer_class;  // e.g. "PreTrainedTokenizerFast"
};

// `json_text` may be empty (no file): returns the defaults. `source_name` prefixes errors.
Result<TokenizerConfig> parse_tokenizer_config(std::string_view json_text,
                                               std::string_view source_name);

}  // namespace xy
