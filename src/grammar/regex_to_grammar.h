// Regular expressions (the ECMAScript / Python subset that JSON Schema `pattern`s and vLLM's
// guided_regex use) as grammar expressions, matched against the whole output: alternation,
// groups ((...), (?:...), (?<name>...)), classes with ranges and \d \w \s (and negations),
// `.`, escapes (\n \t \xHH \uHHHH \u{...}, escaped punctuation), quantifiers * + ? {n} {n,}
// {n,m} (lazy forms match the same language), ^ and $ at the ends. Features a grammar cannot
// express or that we do not implement (backreferences, lookaround, \b, flags, anchors inside)
// are kUnsupported errors naming the feature and its offset; syntax errors are
// kInvalidArgument.
#pragma once

#include <string_view>

#include "core/status.h"
#include "grammar/expr.h"

namespace xy::grammar {

struct RegexExpr {
  Expr expr;
  bool anchored_start = false;  // the pattern began with ^
  bool anchored_end = false;    // the pattern ended with $
};

Result<RegexExpr> regex_to_expr(std::string_view pattern);

}  // namespace xy::grammar
