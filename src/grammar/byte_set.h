// A set of byte values (256 bits): the terminal of every grammar this engine compiles. Code point
// classes are lowered to alternatives of byte sequences (utf8_ranges.h), so the matcher never
// decodes UTF-8 and a token that ends inside a multi-byte character needs no special state.
#pragma once

#include <array>
#include <cstdint>

namespace xy::grammar {

class ByteSet {
 public:
  void add(uint8_t b) { bits_[b >> 6] |= uint64_t{1} << (b & 63); }
  void add_range(uint8_t lo, uint8_t hi) {
    for (int b = lo; b <= hi; ++b) add(static_cast<uint8_t>(b));
  }
  bool has(uint8_t b) const { return (bits_[b >> 6] >> (b & 63)) & 1; }
  bool empty() const { return (bits_[0] | bits_[1] | bits_[2] | bits_[3]) == 0; }
  int count() const {
    int n = 0;
    for (uint64_t w : bits_) n += __builtin_popcountll(w);
    return n;
  }
  void merge(const ByteSet& o) {
    for (int i = 0; i < 4; ++i) bits_[i] |= o.bits_[i];
  }
  bool operator==(const ByteSet&) const = default;
  const std::array<uint64_t, 4>& words() const { return bits_; }

 private:
  std::array<uint64_t, 4> bits_{};
};

}  // namespace xy::grammar
