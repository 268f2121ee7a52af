#include "grammar/numeric_ranges.h"

#include <string>
#include <vector>

namespace xy::grammar {
namespace {

Expr digit_class(char lo, char hi) {
  return Expr::cls({{static_cast<char32_t>(lo), static_cast<char32_t>(hi)}});
}
Expr any_digits(int n) {
  return Expr::repeat(digit_class('0', '9'), n, n);
}

// Equal-length digit strings x <= y: every string of that length between them.
Expr same_length(const std::string& x, const std::string& y) {
  const size_t n = x.size();
  if (n == 1) return digit_class(x[0], y[0]);
  const std::string xt = x.substr(1), yt = y.substr(1);
  if (x[0] == y[0]) return Expr::seq({Expr::literal(std::string(1, x[0])), same_length(xt, yt)});
  const bool x_low = xt == std::string(n - 1, '0');
  const bool y_high = yt == std::string(n - 1, '9');
  std::vector<Expr> alts;
  char mid_lo = static_cast<char>(x[0] + 1), mid_hi = static_cast<char>(y[0] - 1);
  if (x_low) {
    mid_lo = x[0];
  } else {
    alts.push_back(
        Expr::seq({Expr::literal(std::string(1, x[0])), same_length(xt, std::string(n - 1, '9'))}));
  }
  if (y_high) mid_hi = y[0];
  if (mid_lo <= mid_hi)
    alts.push_back(Expr::seq({digit_class(mid_lo, mid_hi), any_digits(static_cast<int>(n) - 1)}));
  if (!y_high) {
    alts.push_back(
        Expr::seq({Expr::literal(std::string(1, y[0])), same_length(std::string(n - 1, '0'), yt)}));
  }
  return Expr::alt(std::move(alts));
}

std::string pow10_minus1(size_t digits) {
  return std::string(digits, '9');
}
std::string pow10(size_t digits) {  // digits + 1 characters
  std::string s(digits + 1, '0');
  s[0] = '1';
  return s;
}

// Non-negative integers in [a, b] (b nullopt: up to max_digits digits).
Expr unsigned_range(uint64_t a, std::optional<uint64_t> b, int max_digits) {
  const std::string as = std::to_string(a);
  const size_t max_len =
      b ? std::to_string(*b).size() : std::max<size_t>(as.size(), static_cast<size_t>(max_digits));
  std::vector<Expr> alts;
  for (size_t len = as.size(); len <= max_len; ++len) {
    const std::string lo = len == as.size() ? as : pow10(len - 1);
    std::string hi = pow10_minus1(len);
    if (b && len == std::to_string(*b).size()) hi = std::to_string(*b);
    if (lo.size() != hi.size() || lo > hi) continue;
    alts.push_back(same_length(lo, hi));
  }
  if (alts.empty()) return Expr::cls({});  // nothing
  return Expr::alt(std::move(alts));
}

}  // namespace

Expr integer_range(std::optional<int64_t> lo, std::optional<int64_t> hi, int max_digits) {
  std::vector<Expr> alts;
  // Negative values: "-" then the magnitude in [max(1, -hi), -lo].
  if (!lo || *lo < 0) {
    const uint64_t mag_lo = hi && *hi < 0 ? static_cast<uint64_t>(-(*hi + 1)) + 1 : 1;
    std::optional<uint64_t> mag_hi;
    if (lo) mag_hi = static_cast<uint64_t>(-(*lo + 1)) + 1;
    if (!mag_hi || mag_lo <= *mag_hi) {
      alts.push_back(Expr::seq({Expr::literal("-"), unsigned_range(mag_lo, mag_hi, max_digits)}));
    }
  }
  if (!hi || *hi >= 0) {
    const uint64_t a = lo && *lo > 0 ? static_cast<uint64_t>(*lo) : 0;
    std::optional<uint64_t> b;
    if (hi) b = static_cast<uint64_t>(*hi);
    if (!b || a <= *b) alts.insert(alts.begin(), unsigned_range(a, b, max_digits));
  }
  if (alts.empty()) return Expr::cls({});
  return Expr::alt(std::move(alts));
}

Expr bounded_decimal(int64_t lo, std::optional<int64_t> hi, int max_digits) {
  const Expr fraction = Expr::optional(
      Expr::seq({Expr::literal("."), Expr::repeat(digit_class('0', '9'), 1, max_digits)}));
  std::vector<Expr> alts;
  const uint64_t a = static_cast<uint64_t>(lo);
  if (!hi) {
    alts.push_back(Expr::seq({unsigned_range(a, std::nullopt, max_digits), fraction}));
  } else {
    const uint64_t b = static_cast<uint64_t>(*hi);
    if (b > a) alts.push_back(Expr::seq({unsigned_range(a, b - 1, max_digits), fraction}));
    if (b >= a) {
      alts.push_back(
          Expr::seq({Expr::literal(std::to_string(b)),
                     Expr::optional(Expr::seq(
                         {Expr::literal("."), Expr::repeat(Expr::literal("0"), 1, max_digits)}))}));
    }
  }
  if (alts.empty()) return Expr::cls({});
  return Expr::alt(std::move(alts));
}

}  // namespace xy::grammar
