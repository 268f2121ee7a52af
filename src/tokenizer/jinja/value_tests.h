// Jinja tests (`x is defined`, `x is not none`, ...) with @huggingface/jinja's meanings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace xy::jinja {

bool is_known_test(std::string_view name);

// `args` are the test's own arguments (`x is divisibleby(3)`). Throws JinjaError on a type
// error (`odd` of a string) or an unknown name.
bool apply_test(std::string_view name, const Value& v, const std::vector<Value>& args);

}  // namespace xy::jinja
