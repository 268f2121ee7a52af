#include "tokenizer/jinja/string_ops.h"

#include <cmath>
#include <cstdlib>

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/value.h"

namespace xy::jinja {
namespace {

unsigned decode(std::string_view c) {
  const unsigned char b0 = static_cast<unsigned char>(c[0]);
  if (c.size() == 1) return b0;
  unsigned cp = b0 & (0x7F >> c.size());
  for (size_t i = 1; i < c.size(); ++i) cp = (cp << 6) | (static_cast<unsigned char>(c[i]) & 0x3F);
  return cp;
}

std::string encode(unsigned cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// Simple one-to-one case pairs; anything else maps to itself.
unsigned map_case(unsigned cp, bool upper) {
  if (cp < 0x80) {
    if (upper && cp >= 'a' && cp <= 'z') return cp - 32;
    if (!upper && cp >= 'A' && cp <= 'Z') return cp + 32;
    return cp;
  }
  if (upper) {
    if ((cp >= 0xE0 && cp <= 0xFE && cp != 0xF7)) return cp - 0x20;
    if (cp >= 0x100 && cp <= 0x17F && cp != 0x131 && cp != 0x138 && cp != 0x149 && cp != 0x17F &&
        ((cp < 0x139) == (cp % 2 == 1)))
      return cp - 1;
    if (cp >= 0x3B1 && cp <= 0x3C9 && cp != 0x3C2) return cp - 0x20;
    if (cp >= 0x430 && cp <= 0x44F) return cp - 0x20;
    if (cp >= 0x450 && cp <= 0x45F) return cp - 0x50;
  } else {
    if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)) return cp + 0x20;
    if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x138 && cp != 0x149 && cp != 0x178 &&
        ((cp < 0x139) == (cp % 2 == 0)))
      return cp + 1;
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 0x20;
    if (cp >= 0x410 && cp <= 0x42F) return cp + 0x20;
    if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;
  }
  return cp;
}

std::string map_string(std::string_view s, bool upper) {
  std::string out;
  out.reserve(s.size());
  for (const std::string& ch : utf8_chars(s)) {
    const unsigned cp = decode(ch);
    const unsigned m = map_case(cp, upper);
    out += (m == cp || encode(m).size() != ch.size()) ? ch : encode(m);
  }
  return out;
}

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

std::string to_upper(std::string_view s) {
  return map_string(s, true);
}
std::string to_lower(std::string_view s) {
  return map_string(s, false);
}

std::string title_case(std::string_view s) {
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i) {
    if (is_word_char(out[i]) && (i == 0 || !is_word_char(out[i - 1])) && out[i] >= 'a' &&
        out[i] <= 'z') {
      out[i] = static_cast<char>(out[i] - 32);
    }
  }
  return out;
}

std::string capitalize(std::string_view s) {
  if (s.empty()) return "";
  const std::vector<std::string> chars = utf8_chars(s.substr(0, std::min<size_t>(4, s.size())));
  const std::string& first = chars[0];
  return to_upper(first) + std::string(s.substr(first.size()));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit) {
  std::vector<std::string> out;
  if (!sep) {
    // Whitespace runs separate; with maxsplit the remainder keeps its inner whitespace.
    const std::string text = js_trim(s, true, false);
    size_t i = 0;
    while (i < text.size()) {
      size_t j = i;
      while (j < text.size() && js_space_len(text, j) == 0) ++j;
      if (maxsplit != -1 && static_cast<int64_t>(out.size()) >= maxsplit) {
        out.push_back(text.substr(i));
        return out;
      }
      out.push_back(text.substr(i, j - i));
      i = j;
      while (i < text.size()) {
        const size_t n = js_space_len(text, i);
        if (n == 0) break;
        i += n;
      }
    }
    return out;
  }
  size_t start = 0;
  while (true) {
    const size_t hit = s.find(*sep, start);
    if (hit == std::string_view::npos) break;
    out.emplace_back(s.substr(start, hit - start));
    start = hit + sep->size();
  }
  out.emplace_back(s.substr(start));
  if (maxsplit != -1 && static_cast<int64_t>(out.size()) > maxsplit && maxsplit >= 0) {
    std::string tail;
    for (size_t k = static_cast<size_t>(maxsplit); k < out.size(); ++k) {
      if (k > static_cast<size_t>(maxsplit)) tail += *sep;
      tail += out[k];
    }
    out.resize(static_cast<size_t>(maxsplit));
    out.push_back(std::move(tail));
  }
  return out;
}

std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count) {
  if (count == 0) return std::string(s);
  int64_t remaining = count < 0 ? INT64_MAX : count;
  std::string out;
  if (from.empty()) {
    const std::vector<std::string> chars = utf8_chars(s);
    for (const std::string& ch : chars) {
      if (remaining > 0) {
        out += to;
        --remaining;
      }
      out += ch;
    }
    if (remaining > 0) out += to;
    return out;
  }
  size_t start = 0;
  while (remaining > 0) {
    const size_t hit = s.find(from, start);
    if (hit == std::string_view::npos) break;
    out += s.substr(start, hit - start);
    out += to;
    start = hit + from.size();
    --remaining;
  }
  out += s.substr(start);
  return out;
}

int64_t utf16_length(std::string_view s) {
  int64_t n = 0;
  for (const std::string& ch : utf8_chars(s)) n += ch.size() == 4 ? 2 : 1;
  return n;
}

std::optional<double> js_parse_int(std::string_view s) {
  const std::string t = js_trim(s, true, false);
  size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
  const size_t digits_start = i;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  if (i == digits_start) return std::nullopt;
  return std::strtod(t.substr(0, i).c_str(), nullptr);  // a double, as JS parseInt returns
}

std::optional<double> js_parse_float(std::string_view s) {
  const std::string t = js_trim(s, true, false);
  size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
  if (t.compare(i, 8, "Infinity") == 0) return t[0] == '-' ? -INFINITY : INFINITY;
  size_t digits = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    size_t j = i + 1;
    if (j < t.size() && (t[j] == '+' || t[j] == '-')) ++j;
    if (j < t.size() && t[j] >= '0' && t[j] <= '9') {
      while (j < t.size() && t[j] >= '0' && t[j] <= '9') ++j;
      i = j;
    }
  }
  return std::strtod(t.substr(0, i).c_str(), nullptr);
}

}  // namespace xy::jinja
