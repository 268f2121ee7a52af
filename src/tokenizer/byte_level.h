// GPT-2's reversible byte <-> printable-code-point alphabet used by ByteLevel pre-tokenizers and
// decoders: printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xy::byte_level {

// UTF-8 of the code point that stands for byte `b`.
const std::string& byte_to_unicode(uint8_t b);

// The byte a code point stands for, or nullopt when it is not part of the alphabet.
std::optional<uint8_t> unicode_to_byte(char32_t cp);

// Every byte of `bytes` replaced by its alphabet code point (UTF-8).
std::string encode(std::string_view bytes);

// Reverses encode() for one token; nullopt when some code point is outside the alphabet.
std::optional<std::string> decode_token(std::string_view token);

}  // namespace xy::byte_level
