// Code point classes as UTF-8 byte sequences: a class (sorted, merged ranges of scalar values)
// becomes a list of sequences of byte ranges, each sequence matching exactly the UTF-8 encodings
// of one sub-range, so together they match the class's encodings and nothing else.
#pragma once

#include <cstdint>
#include <vector>

#include "grammar/expr.h"

namespace xy::grammar {

struct ByteRange {
  uint8_t lo, hi;
};
using ByteRangeSeq = std::vector<ByteRange>;

// Sorted, merged, surrogate-free ranges of the class (complemented when negated).
std::vector<CodepointRange> normalize_class(std::vector<CodepointRange> ranges, bool negated);

// UTF-8 byte-range sequences for normalized ranges (normalize_class's output).
std::vector<ByteRangeSeq> utf8_sequences(const std::vector<CodepointRange>& ranges);

// UTF-8 encoding of one scalar value.
void append_utf8(char32_t cp, std::string& out);

}  // namespace xy::grammar
