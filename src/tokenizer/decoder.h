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
  // True when decoding a suffix window of ids (with at least one earlier id as context) yields
  // the same new text as a full decode, so the streaming detokenizer may decode short windows.
  // Only start-of-text effects wider than one character (Strip with start > 1) or end-of-text
  // stripping break this.
  virtual bool window_safe() const { return true; }
  // Rewrites one token's string into the raw bytes it contributes in the middle of a text: no
  // start-of-text stripping and no lossy UTF-8 repair, so a token that holds part of a character
  // keeps its bytes (constrained decoding matches grammars against these). Thread-safe.
  virtual void token_bytes(std::string& token) const { (void)token; }
};

Result<std::unique_ptr<Decoder>> make_decoder(const tokjson::Json& config, std::string_view where);

}  // namespace xy
