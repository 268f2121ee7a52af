// Decimal numbers within bounds as grammar expressions (JSON Schema minimum / maximum): the
// classic digit-range construction, split by digit count and by leading digit, so the
// expression accepts exactly the canonical JSON spellings of the allowed values.
#pragma once

#include <cstdint>
#include <optional>

#include "grammar/expr.h"

namespace xy::grammar {

// Integers in [lo, hi] (nullopt: unbounded), no leading zeros, "-0" excluded; unbounded sides
// are limited to max_digits digits.
Expr integer_range(std::optional<int64_t> lo, std::optional<int64_t> hi, int max_digits);

// Decimals x with lo <= x <= hi for non-negative integer bounds (hi nullopt: unbounded): an
// integer part then an optional fraction of up to max_digits digits; at x == hi only zeros may
// follow the point. No exponent.
Expr bounded_decimal(int64_t lo, std::optional<int64_t> hi, int max_digits);

}  // namespace xy::grammar
