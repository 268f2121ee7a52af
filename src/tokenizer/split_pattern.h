// The "pattern" member of Hugging Face Split / Replace components: {"String": literal} or
// {"Regex": oniguruma}. Finds non-overlapping matches and replaces them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/regex.h"

namespace xy {

class SplitPattern {
 public:
  static Result<SplitPattern> from_json(const tokjson::Json& pattern, std::string_view where);
  static SplitPattern literal(std::string text);

  // Non-overlapping matches left to right as byte ranges [begin, end) of `text`.
  Result<std::vector<std::pair<size_t, size_t>>> find_matches(std::string_view text) const;
  Result<std::string> replace_all(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;  // used when regex_ is empty
  std::optional<Regex> regex_;
};

}  // namespace xy
