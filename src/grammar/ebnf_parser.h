// Grammar text in the GBNF dialect of EBNF that llama.cpp users write (and vLLM's guided_grammar
// accepts): `name ::= alternatives`, with "literals" (escapes \n \r \t \\ \" \xHH \uHHHH
// \UHHHHHHHH), [character classes] with ranges and ^, `.` (any character), rule names,
// ( groups ), postfix * + ? {m} {m,} {m,n} {,n}, and # comments. The start rule is `root`.
// A rule may continue on following lines; it ends where the next `name ::=` begins.
// Errors (kInvalidArgument) give the line and column.
#pragma once

#include <string_view>

#include "core/status.h"
#include "grammar/grammar.h"

namespace xy::grammar {

// Defines every rule of `text` in `builder` (the caller builds from "root").
Status parse_ebnf(std::string_view text, GrammarBuilder& builder);

}  // namespace xy::grammar
