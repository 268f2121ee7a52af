// A grammar ready to constrain generation for one vocabulary: the flat Grammar, the vocabulary
// and the lazily built automaton (PdaStates) with its transition and mask caches. Shared (via
// shared_ptr) by every request that uses the same grammar text; GrammarCompiler caches them.
#pragma once

#include <memory>
#include <string>

#include "grammar/grammar.h"
#include "grammar/pda_states.h"
#include "grammar/token_vocabulary.h"

namespace xy::grammar {

class CompiledGrammar {
 public:
  CompiledGrammar(std::shared_ptr<const Grammar> grammar,
                  std::shared_ptr<const TokenVocabulary> vocab, std::string description)
      : grammar_(grammar),
        states_(std::make_unique<PdaStates>(grammar, vocab)),
        description_(std::move(description)) {}

  const Grammar& grammar() const { return *grammar_; }
  PdaStates& states() const { return *states_; }
  const TokenVocabulary& vocabulary() const { return states_->vocabulary(); }
  // What was compiled, for logs ("json_schema", "regex", ...).
  const std::string& description() const { return description_; }

 private:
  std::shared_ptr<const Grammar> grammar_;
  std::unique_ptr<PdaStates> states_;  // internally synchronized
  std::string description_;
};

}  // namespace xy::grammar
