// tokenizer.json "normalizer": rewrites each text section (between added tokens) before
// pre-tokenization. Supported types: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase,
// Strip. Anything else is a kUnsupported error naming the type.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/json_fields.h"

namespace xy {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // `text` is valid UTF-8; so is the result. Thread-safe.
  virtual Result<std::string> normalize(std::string_view text) const = 0;
};

// `where` is the JSON path used in errors, e.g. "tokenizer.json: normalizer".
Result<std::unique_ptr<Normalizer>> make_normalizer(const tokjson::Json& config,
                                                    std::string_view where);

}  // namespace xy
