// Jinja filters (`x | name` and `x | name(args)`) with @huggingface/jinja's behaviour,
// which depends on the operand's type and, for a few filters, on whether parentheses were
// written. Unknown names are rejected by the parser via is_known_filter().
#pragma once

#include <string_view>

#include "tokenizer/jinja/value.h"

namespace xy::jinja {

bool is_known_filter(std::string_view name);

// Throws JinjaError on a type mismatch or a bad argument.
Value apply_filter(Interpreter& in, std::string_view name, const Value& operand,
                   const CallArgs& args, bool with_call);

}  // namespace xy::jinja
