#include "tokenizer/jinja/lexer.h"

#include <cstdint>
#include <cstring>

namespace xy::jinja {
namespace {

// A string being rewritten by the preprocessing passes, remembering for every byte where
// it came from in the original source.
struct MappedText {
  std::string text;
  std::vector<uint32_t> origin;  // [text.size()] byte offsets into the original source

  void push(char c, uint32_t from) {
    text.push_back(c);
    origin.push_back(from);
  }
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

// Length of a JS-whitespace character (Unicode White_Space minus U+0085, plus BOM) that
// starts at s[i], or 0.
size_t js_space_at(std::string_view s, size_t i) {
  if (is_space(s[i])) return 1;
  const auto b = [&](size_t k) {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
  };
  if (b(0) == 0xC2 && b(1) == 0xA0) return 2;                  // U+00A0
  if (b(0) == 0xE1 && b(1) == 0x9A && b(2) == 0x80) return 3;  // U+1680
  if (b(0) == 0xE2 && b(1) == 0x80 &&
      (b(2) <= 0x8A || b(2) == 0xA8 || b(2) == 0xA9 || b(2) == 0xAF))
    return 3;                                                  // U+2000-200A, 2028, 2029, 202F
  if (b(0) == 0xE2 && b(1) == 0x81 && b(2) == 0x9F) return 3;  // U+205F
  if (b(0) == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;  // U+3000
  if (b(0) == 0xEF && b(1) == 0xBB && b(2) == 0xBF) return 3;  // U+FEFF
  return 0;
}

// Length of a JS-whitespace character that ends just before s[end], or 0.
size_t js_space_before(std::string_view s, size_t end) {
  if (end >= 1 && is_space(s[end - 1])) return 1;
  if (end >= 2 && js_space_at(s, end - 2) == 2) return 2;
  if (end >= 3 && js_space_at(s, end - 3) == 3) return 3;
  return 0;
}

SourcePos pos_of(std::string_view source, uint32_t offset) {
  SourcePos p{1, 1};
  for (uint32_t i = 0; i < offset && i < source.size(); ++i) {
    if (source[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

// lstrip_blocks: spaces/tabs at the start of a line before "{%", "{#" or "{-" vanish.
MappedText lstrip_blocks(const MappedText& in) {
  MappedText out;
  out.text.reserve(in.text.size());
  out.origin.reserve(in.origin.size());
  const std::string& s = in.text;
  size_t i = 0;
  while (i < s.size()) {
    const bool line_start = i == 0 || s[i - 1] == '\n' || s[i - 1] == '\r';
    if (line_start) {
      size_t j = i;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
      if (j > i && j + 1 < s.size() && s[j] == '{' &&
          (s[j + 1] == '#' || s[j + 1] == '%' || s[j + 1] == '-')) {
        i = j;
      }
    }
    // Copy up to and including the next newline (or the rest).
    do {
      out.push(s[i], in.origin[i]);
      ++i;
    } while (i < s.size() && s[i - 1] != '\n' && s[i - 1] != '\r');
  }
  return out;
}

// trim_blocks: the first newline after "%}", "#}" or "-}" vanishes.
MappedText trim_blocks(const MappedText& in) {
  MappedText out;
  out.text.reserve(in.text.size());
  out.origin.reserve(in.origin.size());
  const std::string& s = in.text;
  for (size_t i = 0; i < s.size(); ++i) {
    out.push(s[i], in.origin[i]);
    if (s[i] == '}' && i >= 1 && (s[i - 1] == '#' || s[i - 1] == '%' || s[i - 1] == '-') &&
        i + 1 < s.size() && s[i + 1] == '\n') {
      ++i;
    }
  }
  return out;
}

// Removes "{% generation %}" / "{% endgeneration %}" markers (transformers' assistant-mask
// tags), eating the surrounding whitespace on a side that carries a '-'.
MappedText strip_generation_tags(const MappedText& in) {
  MappedText out;
  out.text.reserve(in.text.size());
  out.origin.reserve(in.origin.size());
  const std::string& s = in.text;
  size_t i = 0;
  size_t ws_start = 0;  // start of the whitespace run that ends at i (regex group "before")
  while (i < s.size()) {
    if (s[i] == '{' && i + 1 < s.size() && s[i + 1] == '%') {
      size_t j = i + 2;
      const bool lstrip = j < s.size() && s[j] == '-';
      if (lstrip) ++j;
      while (j < s.size() && is_space(s[j])) ++j;
      if (s.compare(j, 3, "end") == 0 && s.compare(j + 3, 10, "generation") == 0) j += 3;
      if (s.compare(j, 10, "generation") == 0) {
        j += 10;
        while (j < s.size() && is_space(s[j])) ++j;
        const bool rstrip = j < s.size() && s[j] == '-';
        if (rstrip) ++j;
        if (s.compare(j, 2, "%}") == 0) {
          j += 2;
          if (lstrip) {  // drop the whitespace already copied before the tag
            const size_t drop = i - ws_start;
            out.text.resize(out.text.size() - drop);
            out.origin.resize(out.origin.size() - drop);
          }
          size_t after = j;
          while (after < s.size() && is_space(s[after])) ++after;
          if (!rstrip) {
            for (size_t k = j; k < after; ++k) out.push(s[k], in.origin[k]);
          }
          i = after;
          ws_start = i;
          continue;
        }
      }
    }
    if (!is_space(s[i])) ws_start = i + 1;
    out.push(s[i], in.origin[i]);
    ++i;
  }
  return out;
}

class Lexer {
 public:
  Lexer(std::string_view original, MappedText src) : original_(original), src_(std::move(src)) {}

  std::vector<Token> run() {
    const std::string& s = src_.text;
    while (cur_ < s.size()) {
      const TokenType* last = tokens_.empty() ? nullptr : &tokens_.back().type;
      if (last == nullptr || *last == TokenType::kCloseStatement ||
          *last == TokenType::kCloseExpression || *last == TokenType::kComment) {
        const size_t start = cur_;
        while (cur_ < s.size() &&
               !(s[cur_] == '{' && cur_ + 1 < s.size() &&
                 (s[cur_ + 1] == '%' || s[cur_ + 1] == '{' || s[cur_ + 1] == '#'))) {
          ++cur_;
        }
        if (cur_ > start) {
          push(TokenType::kText, s.substr(start, cur_ - start), start);
          continue;
        }
      }
      if (starts_with("{#")) {
        lex_comment();
        continue;
      }
      if (starts_with("{%-")) {
        strip_trailing_whitespace();
        push(TokenType::kOpenStatement, "{%", cur_);
        cur_ += 3;
        continue;
      }
      if (starts_with("{{-")) {
        strip_trailing_whitespace();
        push(TokenType::kOpenExpression, "{{", cur_);
        curly_depth_ = 0;
        cur_ += 3;
        continue;
      }
      while (cur_ < s.size() && is_space(s[cur_])) ++cur_;
      if (cur_ >= s.size()) fail("unexpected end of input inside a tag", s.size() - 1);
      if (starts_with("-%}")) {
        push(TokenType::kCloseStatement, "%}", cur_);
        cur_ += 3;
        skip_leading_whitespace();
        continue;
      }
      if (starts_with("-}}")) {
        push(TokenType::kCloseExpression, "}}", cur_);
        cur_ += 3;
        skip_leading_whitespace();
        continue;
      }
      const char c = s[cur_];
      if ((c == '-' || c == '+') && lex_sign(c)) continue;
      if (lex_operator()) continue;
      if (c == '\'' || c == '"') {
        lex_string(c);
        continue;
      }
      if (is_digit(c)) {
        const size_t start = cur_;
        std::string num;
        while (cur_ < s.size() && is_digit(s[cur_])) num += s[cur_++];
        if (!tokens_.empty() && tokens_.back().type != TokenType::kDot && cur_ + 1 < s.size() &&
            s[cur_] == '.' && is_digit(s[cur_ + 1])) {
          num += s[cur_++];
          while (cur_ < s.size() && is_digit(s[cur_])) num += s[cur_++];
        }
        push(TokenType::kNumericLiteral, std::move(num), start);
        continue;
      }
      if (is_word(c)) {
        const size_t start = cur_;
        while (cur_ < s.size() && is_word(s[cur_])) ++cur_;
        push(TokenType::kIdentifier, s.substr(start, cur_ - start), start);
        continue;
      }
      fail(std::string("unexpected character '") + c + "'", cur_);
    }
    return std::move(tokens_);
  }

 private:
  bool starts_with(std::string_view lit) const {
    const std::string& s = src_.text;
    if (cur_ + lit.size() > s.size()) return false;
    for (size_t k = 0; k < lit.size(); ++k) {
      if (s[cur_ + k] != lit[k]) return false;
    }
    return true;
  }

  [[noreturn]] void fail(const std::string& msg, size_t at) const {
    const uint32_t off =
        src_.origin.empty() ? 0 : src_.origin[std::min(at, src_.origin.size() - 1)];
    throw JinjaError(JinjaError::Kind::kSyntax, msg, pos_of(original_, off));
  }

  void push(TokenType t, std::string value, size_t at) {
    tokens_.push_back(Token{t, std::move(value), pos_of_cached(at)});
  }

  // Positions are computed incrementally: tokens are pushed in source order.
  SourcePos pos_of_cached(size_t at) {
    const uint32_t off =
        at < src_.origin.size() ? src_.origin[at] : static_cast<uint32_t>(original_.size());
    if (off < pos_offset_) {
      pos_offset_ = 0;
      pos_ = {1, 1};
    }
    for (; pos_offset_ < off && pos_offset_ < original_.size(); ++pos_offset_) {
      if (original_[pos_offset_] == '\n') {
        ++pos_.line;
        pos_.column = 1;
      } else {
        ++pos_.column;
      }
    }
    return pos_;
  }

  void strip_trailing_whitespace() {
    if (tokens_.empty() || tokens_.back().type != TokenType::kText) return;
    std::string& v = tokens_.back().value;
    v = js_trim(v, false, true);
    if (v.empty()) tokens_.pop_back();
  }

  void skip_leading_whitespace() {
    const std::string& s = src_.text;
    while (cur_ < s.size()) {
      const size_t n = js_space_at(s, cur_);
      if (n == 0) break;
      cur_ += n;
    }
  }

  void lex_comment() {
    const std::string& s = src_.text;
    const size_t start = cur_;
    cur_ += 2;
    const bool strip_before = cur_ < s.size() && s[cur_] == '-';
    if (strip_before) ++cur_;
    const size_t end = s.find("#}", cur_);
    if (end == std::string::npos) fail("missing end of comment tag '#}'", start);
    std::string body = s.substr(cur_, end - cur_);
    const bool strip_after = !body.empty() && body.back() == '-';
    if (strip_after) body.pop_back();
    if (strip_before) strip_trailing_whitespace();
    push(TokenType::kComment, std::move(body), start);
    cur_ = end + 2;
    if (strip_after) skip_leading_whitespace();
  }

  // A '-' or '+' after an operand is a binary operator (returns false: the operator table
  // handles it); elsewhere it is a sign, folded into a following number literal.
  bool lex_sign(char c) {
    if (tokens_.empty() || tokens_.back().type == TokenType::kText) {
      fail(std::string("unexpected character '") + c + "'", cur_);
    }
    switch (tokens_.back().type) {
      case TokenType::kIdentifier:
      case TokenType::kNumericLiteral:
      case TokenType::kStringLiteral:
      case TokenType::kCloseParen:
      case TokenType::kCloseSquareBracket:
        return false;
      default:
        break;
    }
    const std::string& s = src_.text;
    const size_t start = cur_++;
    std::string num;
    while (cur_ < s.size() && is_digit(s[cur_])) num += s[cur_++];
    if (!num.empty() && cur_ + 1 < s.size() && s[cur_] == '.' && is_digit(s[cur_ + 1])) {
      num += s[cur_++];
      while (cur_ < s.size() && is_digit(s[cur_])) num += s[cur_++];
    }
    if (num.empty()) {
      push(TokenType::kUnaryOperator, std::string(1, c), start);
    } else {
      push(TokenType::kNumericLiteral, std::string(1, c) + num, start);
    }
    return true;
  }

  bool lex_operator() {
    static const struct {
      std::string_view seq;
      TokenType type;
    } kTable[] = {
        {"{%", TokenType::kOpenStatement},
        {"%}", TokenType::kCloseStatement},
        {"{{", TokenType::kOpenExpression},
        {"}}", TokenType::kCloseExpression},
        {"(", TokenType::kOpenParen},
        {")", TokenType::kCloseParen},
        {"{", TokenType::kOpenCurlyBracket},
        {"}", TokenType::kCloseCurlyBracket},
        {"[", TokenType::kOpenSquareBracket},
        {"]", TokenType::kCloseSquareBracket},
        {",", TokenType::kComma},
        {".", TokenType::kDot},
        {":", TokenType::kColon},
        {"|", TokenType::kPipe},
        {"<=", TokenType::kComparisonOperator},
        {">=", TokenType::kComparisonOperator},
        {"==", TokenType::kComparisonOperator},
        {"!=", TokenType::kComparisonOperator},
        {"<", TokenType::kComparisonOperator},
        {">", TokenType::kComparisonOperator},
        {"+", TokenType::kAdditiveOperator},
        {"-", TokenType::kAdditiveOperator},
        {"~", TokenType::kAdditiveOperator},
        {"**", TokenType::kExponentiationOperator},
        {"*", TokenType::kMultiplicativeOperator},
        {"//", TokenType::kMultiplicativeOperator},
        {"/", TokenType::kMultiplicativeOperator},
        {"%", TokenType::kMultiplicativeOperator},
        {"=", TokenType::kEquals},
    };
    for (const auto& e : kTable) {
      if (e.seq[0] != src_.text[cur_]) continue;
      if (e.type == TokenType::kCloseExpression && curly_depth_ > 0) continue;
      if (!starts_with(e.seq)) continue;
      push(e.type, std::string(e.seq), cur_);
      if (e.type == TokenType::kOpenExpression) curly_depth_ = 0;
      if (e.type == TokenType::kOpenCurlyBracket) ++curly_depth_;
      if (e.type == TokenType::kCloseCurlyBracket) --curly_depth_;
      cur_ += e.seq.size();
      return true;
    }
    return false;
  }

  static void append_utf8(unsigned cp, std::string& out) {
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
  }

  void lex_string(char quote) {
    const std::string& s = src_.text;
    const size_t start = cur_++;
    std::string value;
    while (true) {
      if (cur_ >= s.size()) fail("unterminated string literal", start);
      const char c = s[cur_];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++cur_;
        continue;
      }
      if (++cur_ >= s.size()) fail("unterminated string literal", start);
      const char e = s[cur_++];
      if (e == 'x' || e == 'u') {
        const size_t len = e == 'x' ? 2 : 4;
        if (cur_ + len > s.size()) fail("invalid hexadecimal escape sequence", cur_ - 2);
        unsigned cp = 0;
        for (size_t k = 0; k < len; ++k) {
          const char h = s[cur_ + k];
          int d = (h >= '0' && h <= '9')   ? h - '0'
                  : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                  : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                           : -1;
          if (d < 0) fail("invalid hexadecimal escape sequence", cur_ - 2);
          cp = cp * 16 + static_cast<unsigned>(d);
        }
        cur_ += len;
        append_utf8(cp, value);
        continue;
      }
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case '\\':
          value += '\\';
          break;
        default:
          fail(std::string("unexpected escaped character '") + e + "'", cur_ - 2);
      }
    }
    push(TokenType::kStringLiteral, std::move(value), start);
    ++cur_;  // closing quote
  }

  std::string_view original_;
  MappedText src_;
  size_t cur_ = 0;
  int curly_depth_ = 0;
  std::vector<Token> tokens_;
  uint32_t pos_offset_ = 0;
  SourcePos pos_{1, 1};
};

}  // namespace

const char* token_type_name(TokenType t) {
  switch (t) {
    case TokenType::kText:
      return "text";
    case TokenType::kNumericLiteral:
      return "number";
    case TokenType::kStringLiteral:
      return "string";
    case TokenType::kIdentifier:
      return "identifier";
    case TokenType::kEquals:
      return "'='";
    case TokenType::kOpenParen:
      return "'('";
    case TokenType::kCloseParen:
      return "')'";
    case TokenType::kOpenStatement:
      return "'{%'";
    case TokenType::kCloseStatement:
      return "'%}'";
    case TokenType::kOpenExpression:
      return "'{{'";
    case TokenType::kCloseExpression:
      return "'}}'";
    case TokenType::kOpenSquareBracket:
      return "'['";
    case TokenType::kCloseSquareBracket:
      return "']'";
    case TokenType::kOpenCurlyBracket:
      return "'{'";
    case TokenType::kCloseCurlyBracket:
      return "'}'";
    case TokenType::kComma:
      return "','";
    case TokenType::kDot:
      return "'.'";
    case TokenType::kColon:
      return "':'";
    case TokenType::kPipe:
      return "'|'";
    case TokenType::kAdditiveOperator:
      return "additive operator";
    case TokenType::kMultiplicativeOperator:
      return "multiplicative operator";
    case TokenType::kExponentiationOperator:
      return "'**'";
    case TokenType::kComparisonOperator:
      return "comparison operator";
    case TokenType::kUnaryOperator:
      return "unary operator";
    case TokenType::kComment:
      return "comment";
  }
  return "?";
}

size_t js_space_len(std::string_view s, size_t i) {
  return i < s.size() ? js_space_at(s, i) : 0;
}

std::string js_trim(std::string_view s, bool left, bool right) {
  size_t begin = 0, end = s.size();
  if (left) {
    while (begin < end) {
      const size_t n = js_space_at(s, begin);
      if (n == 0) break;
      begin += n;
    }
  }
  if (right) {
    while (end > begin) {
      const size_t n = js_space_before(s.substr(0, end), end);
      if (n == 0) break;
      end -= n;
    }
  }
  return std::string(s.substr(begin, end - begin));
}

std::vector<Token> tokenize(std::string_view source) {
  if (source.size() >= UINT32_MAX) {
    throw JinjaError(JinjaError::Kind::kLimit, "template larger than 4 GiB");
  }
  MappedText text;
  text.text.reserve(source.size());
  text.origin.reserve(source.size());
  size_t n = source.size();
  if (n > 0 && source[n - 1] == '\n') --n;  // Jinja's keep_trailing_newline=False
  for (size_t i = 0; i < n; ++i) text.push(source[i], static_cast<uint32_t>(i));
  MappedText processed = strip_generation_tags(trim_blocks(lstrip_blocks(text)));
  return Lexer(source, std::move(processed)).run();
}

}  // namespace xy::jinja
