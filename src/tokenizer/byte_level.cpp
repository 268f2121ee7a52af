#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace xy::byte_level {
namespace {

struct Tables {
  std::array<std::string, 256> to_unicode;
  std::array<char32_t, 256> code_point{};
  std::array<int16_t, 324> to_byte{};  // code points < 324 cover the whole alphabet
};

const Tables& tables() {
  static const Tables t = [] {
    Tables x;
    x.to_byte.fill(-1);
    int next_extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const char32_t cp =
          printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next_extra++);
      x.code_point[static_cast<size_t>(b)] = cp;
      utf8::append(x.to_unicode[static_cast<size_t>(b)], cp);
      x.to_byte[cp] = static_cast<int16_t>(b);
    }
    return x;
  }();
  return t;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t b) {
  return tables().to_unicode[b];
}

std::optional<uint8_t> unicode_to_byte(char32_t cp) {
  if (cp >= 324) return std::nullopt;
  const int16_t b = tables().to_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

std::string encode(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t.to_unicode[static_cast<uint8_t>(c)];
  return out;
}

std::optional<std::string> decode_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  size_t pos = 0;
  while (pos < token.size()) {
    const auto b = unicode_to_byte(utf8::decode_at(token, pos));
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

}  // namespace xy::byte_level
