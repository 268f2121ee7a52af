#include "grammar/regex_to_grammar.h"

#include <string>

#include "grammar/scan_util.h"
#include "tokenizer/utf8.h"

namespace xy::grammar {
namespace {

const std::vector<CodepointRange> kDigit = {{'0', '9'}};
const std::vector<CodepointRange> kWord = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
const std::vector<CodepointRange> kSpace = {
    {'\t', '\r'},     {' ', ' '},       {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};

std::vector<CodepointRange> complement(const std::vector<CodepointRange>& r) {
  std::vector<CodepointRange> sorted = r;
  std::vector<CodepointRange> out;
  char32_t next = 0;
  for (const CodepointRange& x : sorted) {
    if (x.lo > next) out.push_back({next, x.lo - 1});
    next = x.hi + 1;
  }
  if (next <= kMaxCodepoint) out.push_back({next, kMaxCodepoint});
  return out;
}

class RegexParser {
 public:
  explicit RegexParser(std::string_view p) : p_(p) {}

  Result<RegexExpr> parse() {
    RegexExpr out;
    if (peek_is('^')) {
      ++pos_;
      out.anchored_start = true;
    }
    Result<Expr> e = parse_alternation();
    if (!e.is_ok()) return e.status();
    if (pos_ < p_.size()) {
      if (p_[pos_] == ')') return syntax("unmatched ')'");
      return syntax("unexpected character");
    }
    out.expr = std::move(e).value();
    out.anchored_end = anchored_end_;
    return out;
  }

 private:
  bool peek_is(char c) const { return pos_ < p_.size() && p_[pos_] == c; }
  Status syntax(const std::string& what) const {
    return invalid_argument("regex: " + what + " at offset " + std::to_string(pos_) + " in /" +
                            std::string(p_) + "/");
  }
  Status unsupported_feature(const std::string& what) const {
    return unsupported("regex: " + what + " (at offset " + std::to_string(pos_) + " in /" +
                       std::string(p_) + "/) is not supported in constrained decoding");
  }

  Result<Expr> parse_alternation() {
    std::vector<Expr> alts;
    for (;;) {
      Result<Expr> seq = parse_sequence();
      if (!seq.is_ok()) return seq.status();
      alts.push_back(std::move(seq).value());
      if (!peek_is('|')) break;
      ++pos_;
    }
    return Expr::alt(std::move(alts));
  }

  Result<Expr> parse_sequence() {
    std::vector<Expr> items;
    while (pos_ < p_.size() && p_[pos_] != '|' && p_[pos_] != ')') {
      if (p_[pos_] == '$') {
        ++pos_;
        if (pos_ != p_.size()) return unsupported_feature("'$' before the end of the pattern");
        anchored_end_ = true;
        break;
      }
      if (p_[pos_] == '^') return unsupported_feature("'^' after the start of the pattern");
      Result<Expr> atom = parse_atom();
      if (!atom.is_ok()) return atom.status();
      Result<Expr> q = parse_quantifier(std::move(atom).value());
      if (!q.is_ok()) return q.status();
      items.push_back(std::move(q).value());
    }
    if (items.empty()) return Expr::empty();
    return Expr::seq(std::move(items));
  }

  // Digits at pos_; -1 when there are none.
  long parse_number() { return read_decimal(p_, pos_, 1000000); }

  Result<Expr> parse_quantifier(Expr atom) {
    for (;;) {
      if (pos_ >= p_.size()) return atom;
      const char c = p_[pos_];
      int min = 0, max = -1;
      if (c == '*') {
        ++pos_;
      } else if (c == '+') {
        min = 1;
        ++pos_;
      } else if (c == '?') {
        max = 1;
        ++pos_;
      } else if (c == '{') {
        const size_t start = pos_;
        ++pos_;
        const long lo = parse_number();
        if (lo < 0) {  // ECMAScript: a '{' that is not a quantifier is a literal
          pos_ = start;
          return atom;
        }
        long hi = lo;
        if (peek_is(',')) {
          ++pos_;
          hi = parse_number();  // -1: unbounded
        }
        if (!peek_is('}')) {
          pos_ = start;
          return atom;
        }
        ++pos_;
        if (hi >= 0 && hi < lo)
          return syntax("quantifier {" + std::to_string(lo) + "," + std::to_string(hi) +
                        "} has max < min");
        min = static_cast<int>(lo);
        max = static_cast<int>(hi);
      } else {
        return atom;
      }
      if (peek_is('?')) ++pos_;  // lazy: same language
      if (peek_is('+')) return unsupported_feature("possessive quantifier");
      atom = Expr::repeat(std::move(atom), min, max);
    }
  }

  Result<Expr> parse_atom() {
    const char c = p_[pos_];
    if (c == '(') {
      ++pos_;
      if (peek_is('?')) {
        ++pos_;
        if (peek_is(':')) {
          ++pos_;
        } else if (peek_is('<') && pos_ + 1 < p_.size() && p_[pos_ + 1] != '=' &&
                   p_[pos_ + 1] != '!') {
          const size_t close = p_.find('>', pos_);
          if (close == std::string_view::npos) return syntax("unterminated group name");
          pos_ = close + 1;
        } else if (peek_is('P') && pos_ + 1 < p_.size() && p_[pos_ + 1] == '<') {
          const size_t close = p_.find('>', pos_);
          if (close == std::string_view::npos) return syntax("unterminated group name");
          pos_ = close + 1;
        } else if (peek_is('=') || peek_is('!') || peek_is('<')) {
          return unsupported_feature("lookaround");
        } else {
          return unsupported_feature("inline flags or group modifiers");
        }
      }
      Result<Expr> inner = parse_alternation();
      if (!inner.is_ok()) return inner.status();
      if (!peek_is(')')) return syntax("missing ')'");
      ++pos_;
      return inner;
    }
    if (c == '[') return parse_class();
    if (c == '.') {
      ++pos_;
      return Expr::cls({{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}}, true);
    }
    if (c == '\\') {
      std::vector<CodepointRange> ranges;
      bool is_class = false;
      Result<char32_t> cp = parse_escape(ranges, is_class, false);
      if (!cp.is_ok()) return cp.status();
      if (is_class) return Expr::cls(std::move(ranges));
      return Expr::ch(*cp);
    }
    if (c == '*' || c == '+' || c == '?') return syntax("nothing to repeat");
    return Expr::ch(next_codepoint());
  }

  char32_t next_codepoint() {
    char32_t cp = utf8::decode_at(p_, pos_);
    return cp;
  }

  Result<char32_t> parse_hex_digits(size_t n) {
    char32_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (pos_ >= p_.size() || hex_digit(p_[pos_]) < 0) return syntax("bad hex escape");
      v = v * 16 + static_cast<char32_t>(hex_digit(p_[pos_++]));
    }
    return v;
  }

  // After a backslash (pos_ at it). A class escape (\d, \W, ...) fills `ranges` and sets
  // is_class; otherwise returns the code point.
  Result<char32_t> parse_escape(std::vector<CodepointRange>& ranges, bool& is_class,
                                bool in_class) {
    ++pos_;
    if (pos_ >= p_.size()) return syntax("trailing backslash");
    const char c = p_[pos_++];
    is_class = true;
    switch (c) {
      case 'd':
        ranges = kDigit;
        return 0;
      case 'D':
        ranges = complement(kDigit);
        return 0;
      case 'w':
        ranges = kWord;
        return 0;
      case 'W':
        ranges = complement(kWord);
        return 0;
      case 's':
        ranges = kSpace;
        return 0;
      case 'S':
        ranges = complement(kSpace);
        return 0;
      default:
        break;
    }
    is_class = false;
    switch (c) {
      case 'n':
        return U'\n';
      case 'r':
        return U'\r';
      case 't':
        return U'\t';
      case 'f':
        return U'\f';
      case 'v':
        return U'\v';
      case '0':
        return U'\0';
      case 'x':
        return parse_hex_digits(2);
      case 'u':
        if (peek_is('{')) {
          ++pos_;
          char32_t v = 0;
          int n = 0;
          while (pos_ < p_.size() && hex_digit(p_[pos_]) >= 0 && n < 6) {
            v = v * 16 + static_cast<char32_t>(hex_digit(p_[pos_++]));
            ++n;
          }
          if (n == 0 || !peek_is('}') || v > kMaxCodepoint) return syntax("bad \\u{...} escape");
          ++pos_;
          return v;
        }
        return parse_hex_digits(4);
      case 'b':
        if (in_class) return U'\b';
        return unsupported_feature("word boundary \\b");
      case 'B':
        return unsupported_feature("\\B");
      case 'p':
      case 'P':
        return unsupported_feature("Unicode property escapes");
      default:
        break;
    }
    if (c >= '1' && c <= '9') return unsupported_feature("backreference");
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      return syntax(std::string("unknown escape \\") + c);
    }
    --pos_;
    return next_codepoint();  // escaped punctuation or any other character: itself
  }

  Result<Expr> parse_class() {
    ++pos_;  // '['
    bool negated = false;
    if (peek_is('^')) {
      negated = true;
      ++pos_;
    }
    std::vector<CodepointRange> ranges;
    bool first = true;
    for (;;) {
      if (pos_ >= p_.size()) return syntax("unterminated character class");
      if (p_[pos_] == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      char32_t lo = 0;
      if (p_[pos_] == '\\') {
        std::vector<CodepointRange> esc;
        bool is_class = false;
        Result<char32_t> cp = parse_escape(esc, is_class, true);
        if (!cp.is_ok()) return cp.status();
        if (is_class) {
          ranges.insert(ranges.end(), esc.begin(), esc.end());
          continue;
        }
        lo = *cp;
      } else {
        lo = next_codepoint();
      }
      char32_t hi = lo;
      if (peek_is('-') && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
        ++pos_;
        if (p_[pos_] == '\\') {
          std::vector<CodepointRange> esc;
          bool is_class = false;
          Result<char32_t> cp = parse_escape(esc, is_class, true);
          if (!cp.is_ok()) return cp.status();
          if (is_class) return syntax("class escape as a range bound");
          hi = *cp;
        } else {
          hi = next_codepoint();
        }
        if (hi < lo) return syntax("range out of order in character class");
      }
      ranges.push_back({lo, hi});
    }
    return Expr::cls(std::move(ranges), negated);
  }

  std::string_view p_;
  size_t pos_ = 0;
  bool anchored_end_ = false;
};

}  // namespace

Result<RegexExpr> regex_to_expr(std::string_view pattern) {
  if (!utf8::is_valid(pattern)) return invalid_argument("regex: the pattern is not valid UTF-8");
  return RegexParser(pattern).parse();
}

}  // namespace xy::grammar
