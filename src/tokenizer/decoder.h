// tokenizer.json "decoder": turns token strings back into text. Supported: ByteLevel, Metaspace,
// ByteFallback, Fuse, Strip, Replace, Sequence. Anything else is a kUnsupported error naming the
// type.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/json_fields.h"

namespace xy {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites the token strings (a "decode chain" step); the caller concatenates the result.
  // Input and output are valid UTF-8. Thread-safe.
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

Result<std::unique_ptr<Decoder>> make_decoder(const tokjson::Json& config, std::string_view where);

}  // namespace xy
