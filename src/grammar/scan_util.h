// Small scanning helpers shared by the grammar text front ends (regex and GBNF parsers).
#pragma once

#include <cstddef>
#include <string_view>

namespace xy::grammar {

// The value of a hex digit, -1 for any other character.
inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads decimal digits at `pos` (advancing it), saturating at `cap`; -1 when there are none.
inline long read_decimal(std::string_view s, size_t& pos, long cap) {
  long v = -1;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    v = (v < 0 ? 0 : v) * 10 + (s[pos++] - '0');
    if (v > cap) v = cap;
  }
  return v;
}

}  // namespace xy::grammar
