// libFuzzer driver for the tokenizer.json loader: arbitrary bytes must load or fail with a
// Status, never crash, hang or leak; a tokenizer that loads must encode and decode a short text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/streaming_detokenizer.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto loaded = xy::Tokenizer::load_json(json, "", "fuzz");
  if (!loaded.is_ok()) return 0;
  const xy::Tokenizer& tok = **loaded;
  for (std::string_view text : {std::string_view("Hello, world! 123 \xC3\xA9t\xC3\xA9  x"),
                                std::string_view(""), std::string_view("  \n\t<s>ab")}) {
    auto ids = tok.encode(text, true);
    if (!ids.is_ok()) continue;
    const std::string decoded = tok.decode(*ids, false);
    xy::StreamingDetokenizer stream(tok);
    std::string streamed;
    for (int32_t id : *ids) streamed += stream.push(id);
    streamed += stream.finish();
    if (streamed != decoded) __builtin_trap();  // the streaming contract
  }
  return 0;
}
