// Built-in attributes of values: `s.strip()`, `s.split(',')`, `d.items()`, `d.get(k, x)`,
// `xs.length` ... as @huggingface/jinja provides them. Methods come back as callables bound
// to their receiver; an unknown name comes back undefined (the caller reports it).
#pragma once

#include <string>

#include "tokenizer/jinja/value.h"

namespace xy::jinja {

Value builtin_member(const Value& receiver, const std::string& name);

// Dict helpers shared with filters.
Value dict_items(const Dict& d);
Value dict_keys(const Dict& d);
Value dict_values(const Dict& d);

// Ordering used by sort/dictsort: numbers (and bools) by value, strings optionally
// case-insensitively; other mixes are a runtime error.
int compare_values(const Value& a, const Value& b, bool case_sensitive);

}  // namespace xy::jinja
