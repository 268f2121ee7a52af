// Tokens → syntax tree, with @huggingface/jinja's grammar and operator precedence. Names of
// filters and tests are checked here, so an unsupported one fails at parse time with its
// line:column rather than on the one conversation that happens to reach it.
#pragma once

#include <string_view>

#include "tokenizer/jinja/ast.h"

namespace xy::jinja {

// Throws JinjaError (kSyntax, with position) on any error; nesting is bounded.
Program parse_program(std::string_view source);

}  // namespace xy::jinja
