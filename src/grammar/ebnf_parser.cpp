#include "grammar/ebnf_parser.h"

#include <string>

#include "grammar/scan_util.h"
#include "tokenizer/utf8.h"

namespace xy::grammar {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

class EbnfParser {
 public:
  EbnfParser(std::string_view text, GrammarBuilder& b) : t_(text), b_(b) {}

  Status parse() {
    skip_space();
    if (pos_ >= t_.size())
      return error("the grammar is empty (expected rules such as root ::= ...)");
    while (pos_ < t_.size()) {
      const std::string name = parse_name();
      if (name.empty()) return error("expected a rule name");
      skip_space();
      if (t_.substr(pos_, 3) != "::=")
        return error("expected '::=' after rule name '" + name + "'");
      pos_ += 3;
      Result<Expr> body = parse_alternatives(0);
      if (!body.is_ok()) return body.status();
      if (b_.has_rule(name)) return error("rule '" + name + "' is defined more than once");
      b_.define(name, std::move(body).value());
      skip_space();
    }
    if (!b_.has_rule("root")) return invalid_argument("grammar: no 'root' rule (the start rule)");
    return Status::ok();
  }

 private:
  Status error(const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < t_.size(); ++i) {
      if (t_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return invalid_argument("grammar: " + what + " at line " + std::to_string(line) + ", column " +
                            std::to_string(col));
  }

  void skip_space() {
    while (pos_ < t_.size()) {
      const char c = t_[pos_];
      if (c == '#') {
        while (pos_ < t_.size() && t_[pos_] != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    const size_t start = pos_;
    while (pos_ < t_.size() && is_name_char(t_[pos_])) ++pos_;
    return std::string(t_.substr(start, pos_ - start));
  }

  // At a rule name followed by '::=': the current rule's body ends here.
  bool at_rule_start() const {
    size_t p = pos_;
    while (p < t_.size() && is_name_char(t_[p])) ++p;
    if (p == pos_) return false;
    while (p < t_.size() && (t_[p] == ' ' || t_[p] == '\t')) ++p;
    return t_.substr(p, 3) == "::=";
  }

  Result<Expr> parse_alternatives(int depth) {
    std::vector<Expr> alts;
    for (;;) {
      Result<Expr> seq = parse_sequence(depth);
      if (!seq.is_ok()) return seq.status();
      alts.push_back(std::move(seq).value());
      skip_space();
      if (pos_ < t_.size() && t_[pos_] == '|') {
        ++pos_;
        continue;
      }
      break;
    }
    return Expr::alt(std::move(alts));
  }

  Result<Expr> parse_sequence(int depth) {
    std::vector<Expr> items;
    for (;;) {
      skip_space();
      if (pos_ >= t_.size()) break;
      const char c = t_[pos_];
      if (c == '|' || c == ')') break;
      if (depth == 0 && at_rule_start()) break;
      Result<Expr> atom = parse_atom(depth);
      if (!atom.is_ok()) return atom.status();
      Result<Expr> q = parse_postfix(std::move(atom).value());
      if (!q.is_ok()) return q.status();
      items.push_back(std::move(q).value());
    }
    if (items.empty()) return Expr::empty();
    return Expr::seq(std::move(items));
  }

  Result<Expr> parse_postfix(Expr atom) {
    for (;;) {
      if (pos_ >= t_.size()) return atom;
      const char c = t_[pos_];
      if (c == '*') {
        ++pos_;
        atom = Expr::star(std::move(atom));
      } else if (c == '+') {
        ++pos_;
        atom = Expr::plus(std::move(atom));
      } else if (c == '?') {
        ++pos_;
        atom = Expr::optional(std::move(atom));
      } else if (c == '{') {
        ++pos_;
        skip_space();
        long lo = parse_int();
        skip_space();
        long hi = lo;
        if (pos_ < t_.size() && t_[pos_] == ',') {
          ++pos_;
          skip_space();
          hi = parse_int();
          skip_space();
        }
        if (lo < 0) lo = 0;  // {,n}
        if (pos_ >= t_.size() || t_[pos_] != '}') return error("expected '}' in repetition");
        ++pos_;
        if (hi >= 0 && hi < lo) return error("repetition {m,n} with n < m");
        if (lo > GrammarBuilder::kMaxRepeat || hi > GrammarBuilder::kMaxRepeat) {
          return error("repetition count above " + std::to_string(GrammarBuilder::kMaxRepeat));
        }
        atom = Expr::repeat(std::move(atom), static_cast<int>(lo), static_cast<int>(hi));
      } else {
        return atom;
      }
    }
  }

  long parse_int() { return read_decimal(t_, pos_, 10000000); }

  // One (possibly escaped) character inside a literal or class.
  Result<char32_t> parse_char() {
    if (pos_ >= t_.size()) return error("unexpected end of grammar");
    if (t_[pos_] != '\\') {
      const char32_t cp = utf8::decode_at(t_, pos_);
      return cp;
    }
    ++pos_;
    if (pos_ >= t_.size()) return error("trailing backslash");
    const char c = t_[pos_++];
    size_t digits = 0;
    switch (c) {
      case 'n':
        return U'\n';
      case 'r':
        return U'\r';
      case 't':
        return U'\t';
      case '\\':
        return U'\\';
      case '"':
        return U'"';
      case '\'':
        return U'\'';
      case '[':
        return U'[';
      case ']':
        return U']';
      case '-':
        return U'-';
      case '^':
        return U'^';
      case 'x':
        digits = 2;
        break;
      case 'u':
        digits = 4;
        break;
      case 'U':
        digits = 8;
        break;
      default:
        return error(std::string("unknown escape \\") + c);
    }
    char32_t v = 0;
    for (size_t i = 0; i < digits; ++i) {
      if (pos_ >= t_.size() || hex_digit(t_[pos_]) < 0) return error("bad hex escape");
      v = v * 16 + static_cast<char32_t>(hex_digit(t_[pos_++]));
    }
    if (v > kMaxCodepoint) return error("escape beyond U+10FFFF");
    return v;
  }

  Result<Expr> parse_atom(int depth) {
    const char c = t_[pos_];
    if (c == '"') {
      ++pos_;
      std::string bytes;
      while (pos_ < t_.size() && t_[pos_] != '"') {
        if (t_[pos_] == '\n') return error("newline inside a string literal");
        Result<char32_t> cp = parse_char();
        if (!cp.is_ok()) return cp.status();
        utf8::append(bytes, *cp);
      }
      if (pos_ >= t_.size()) return error("unterminated string literal");
      ++pos_;
      return Expr::literal(std::move(bytes));
    }
    if (c == '[') {
      ++pos_;
      bool negated = false;
      if (pos_ < t_.size() && t_[pos_] == '^') {
        negated = true;
        ++pos_;
      }
      std::vector<CodepointRange> ranges;
      while (pos_ < t_.size() && t_[pos_] != ']') {
        Result<char32_t> lo = parse_char();
        if (!lo.is_ok()) return lo.status();
        char32_t hi = *lo;
        if (pos_ + 1 < t_.size() && t_[pos_] == '-' && t_[pos_ + 1] != ']') {
          ++pos_;
          Result<char32_t> h = parse_char();
          if (!h.is_ok()) return h.status();
          hi = *h;
          if (hi < *lo) return error("character range out of order");
        }
        ranges.push_back({*lo, hi});
      }
      if (pos_ >= t_.size()) return error("unterminated character class");
      ++pos_;
      return Expr::cls(std::move(ranges), negated);
    }
    if (c == '(') {
      ++pos_;
      Result<Expr> inner = parse_alternatives(depth + 1);
      if (!inner.is_ok()) return inner.status();
      skip_space();
      if (pos_ >= t_.size() || t_[pos_] != ')') return error("expected ')'");
      ++pos_;
      return inner;
    }
    if (c == '.') {
      ++pos_;
      return Expr::cls({}, true);
    }
    if (is_name_char(c)) return Expr::ref(parse_name());
    return error(std::string("unexpected character '") + c + "'");
  }

  std::string_view t_;
  GrammarBuilder& b_;
  size_t pos_ = 0;
};

}  // namespace

Status parse_ebnf(std::string_view text, GrammarBuilder& builder) {
  if (!utf8::is_valid(text)) return invalid_argument("grammar: the text is not valid UTF-8");
  return EbnfParser(text, builder).parse();
}

}  // namespace xy::grammar
