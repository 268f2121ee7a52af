// A pattern over decoded text (a regex for a JSON Schema `pattern` or `format`) rewritten to
// match the same strings as they appear inside a JSON string literal: characters JSON must
// escape (", \, U+0000..U+001F) become their escape sequences, everything else stays raw.
#pragma once

#include "grammar/expr.h"

namespace xy::grammar {

Expr json_string_content(const Expr& text_pattern);

}  // namespace xy::grammar
