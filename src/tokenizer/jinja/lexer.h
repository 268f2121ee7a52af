// Template source → tokens, reproducing @huggingface/jinja's lexer: the environment is
// fixed to transformers' (trim_blocks=True, lstrip_blocks=True, one trailing newline of the
// template dropped), and `{% generation %}` markers are removed. Every token keeps the
// line:column of its first character in the original source for error messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/error.h"

namespace xy::jinja {

enum class TokenType {
  kText,
  kNumericLiteral,
  kStringLiteral,
  kIdentifier,
  kEquals,
  kOpenParen,
  kCloseParen,
  kOpenStatement,    // {%
  kCloseStatement,   // %}
  kOpenExpression,   // {{
  kCloseExpression,  // }}
  kOpenSquareBracket,
  kCloseSquareBracket,
  kOpenCurlyBracket,
  kCloseCurlyBracket,
  kComma,
  kDot,
  kColon,
  kPipe,
  kAdditiveOperator,        // + - ~
  kMultiplicativeOperator,  // * / // %
  kExponentiationOperator,  // **
  kComparisonOperator,      // < > <= >= == !=
  kUnaryOperator,           // - + in front of a non-number
  kComment,
};

const char* token_type_name(TokenType t);

struct Token {
  TokenType type;
  std::string value;  // text, identifier, unescaped string literal, operator spelling
  SourcePos pos;
};

// Throws JinjaError (kSyntax) naming line:column on malformed input.
std::vector<Token> tokenize(std::string_view source);

// JavaScript String.prototype.trim/trimStart/trimEnd: strips ASCII whitespace and the
// Unicode space separators, BOM and line/paragraph separators.
std::string js_trim(std::string_view s, bool left, bool right);
// Byte length of the JS-whitespace character at s[i], or 0.
size_t js_space_len(std::string_view s, size_t i);

}  // namespace xy::jinja
