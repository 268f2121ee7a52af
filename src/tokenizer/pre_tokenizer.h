// tokenizer.json "pre_tokenizer": splits normalized text into the words the model encodes one by
// one. Supported: ByteLevel, Split, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit,
// Sequence. Anything else is a kUnsupported error naming the type.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_fields.h"

namespace xy {

// How Split-like pre-tokenizers treat the delimiters they find (Hugging Face's
// SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Applies `behavior` to the match ranges of a text of `size` bytes: returns the pieces as byte
// ranges [begin, end), empty ones dropped. `matches` are sorted and non-overlapping.
std::vector<std::pair<size_t, size_t>> split_by_matches(
    size_t size, const std::vector<std::pair<size_t, size_t>>& matches, SplitBehavior behavior,
    bool invert);

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` (valid UTF-8) with their split/rewritten form. `first_at_text_start`: the
  // first piece begins at offset 0 of the user's text (Metaspace's prepend_scheme "first").
  // Thread-safe.
  virtual Status apply(std::vector<std::string>& pieces, bool first_at_text_start) const = 0;
};

Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const tokjson::Json& config,
                                                         std::string_view where);

}  // namespace xy
