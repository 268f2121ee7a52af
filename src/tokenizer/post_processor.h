// tokenizer.json "post_processor": adds the special tokens around an encoded sequence when
// add_special_tokens is true. Supported: TemplateProcessing, ByteLevel (ids unchanged),
// RobertaProcessing, BertProcessing, Sequence. Single sequences only (no pairs).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_fields.h"

namespace xy {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Rewrites `ids` in place (add_special_tokens == true only). Thread-safe.
  virtual void apply(std::vector<int32_t>& ids) const = 0;
  // Number of ids apply() adds; for callers that budget context length.
  virtual size_t added_count() const = 0;
};

Result<std::unique_ptr<PostProcessor>> make_post_processor(const tokjson::Json& config,
                                                           std::string_view where);

}  // namespace xy
