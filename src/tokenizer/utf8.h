// UTF-8 helpers shared by the tokenizer: validation, code-point iteration, and the lossy decoding
// Hugging Face applies to byte sequences (each maximal invalid subpart becomes U+FFFD, as in
// Rust's String::from_utf8_lossy and the WHATWG TextDecoder).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace xy::utf8 {

inline constexpr char kReplacementChar[] = "\xEF\xBF\xBD";  // U+FFFD

// Byte offset of the first byte that is not part of a valid UTF-8 sequence, or npos if the whole
// string is valid (overlongs, surrogates and code points above U+10FFFF are invalid).
size_t find_invalid(std::string_view s);
inline bool is_valid(std::string_view s) {
  return find_invalid(s) == std::string_view::npos;
}

// Decodes the code point at s[pos] and advances pos past it. Precondition: s is valid UTF-8.
char32_t decode_at(std::string_view s, size_t& pos);

// Length in bytes of the sequence that begins with lead byte `b` in valid UTF-8 (1..4).
inline int sequence_length(uint8_t b) {
  return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

void append(std::string& out, char32_t cp);

// `bytes` with every maximal invalid subpart replaced by U+FFFD.
std::string lossy(std::string_view bytes);

// Number of code points in valid UTF-8.
size_t count_code_points(std::string_view s);

// White_Space property (what Rust's char::is_whitespace and Oniguruma's \s use).
bool is_whitespace(char32_t cp);

}  // namespace xy::utf8
