// A compiled Hugging Face (Oniguruma-syntax) regular expression, run by PCRE2 in UTF + UCP mode.
// The few places where PCRE2's semantics differ from Oniguruma's are rewritten at compile time
// (\s, \S: Oniguruma uses the White_Space property; PCRE2 also counts U+180E).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace xy {

class Regex {
 public:
  // `what` names the pattern's owner for the error message ("pre_tokenizer.Split").
  static Result<Regex> compile(std::string_view pattern, std::string_view what);

  // Every non-overlapping match, left to right, as byte ranges [begin, end) of `text` (valid
  // UTF-8). An empty match advances the search by one code point. Thread-safe (each call uses
  // its own match data). Fails only when PCRE2 hits its match/heap limits (pathological regex).
  Result<std::vector<std::pair<size_t, size_t>>> find_all(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string pattern_;
};

// Rewrites \s and \S (outside and inside character classes) to explicit White_Space sets.
std::string rewrite_oniguruma_for_pcre2(std::string_view pattern);

}  // namespace xy
