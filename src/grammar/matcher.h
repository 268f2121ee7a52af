// One constrained generation's position in its grammar: accepts tokens, rolls them back (a
// speculative draft that is not kept), and fills the mask of tokens allowed next.
//
// Stop tokens (the request's end-of-sequence ids) are allowed exactly when the grammar can end,
// and a grammar that cannot continue allows nothing else; accepting a stop token terminates the
// matcher. The automaton and its caches are shared (CompiledGrammar); a matcher is just a
// history of state ids, so copying one is cheap.
//
// Thread: one matcher is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/compiled_grammar.h"

namespace xy::grammar {

class GrammarMatcher {
 public:
  GrammarMatcher(std::shared_ptr<const CompiledGrammar> grammar, std::vector<int32_t> stop_ids);

  // Advances by one token; false (and no change) when the grammar does not allow it.
  bool accept_token(int32_t id);
  // Advances by raw bytes (tests, jump-forward); false (and no change) when not allowed.
  bool accept_bytes(std::string_view bytes);
  // Undoes the last n accepted tokens or byte runs (n <= num_accepted(), checked).
  void rollback(int n);
  int num_accepted() const { return static_cast<int>(history_.size()) - 1; }

  // mask: ceil(vocab / 32) words, bit i set = token i allowed next.
  void fill_next_token_mask(std::span<uint32_t> mask) const;
  bool is_token_allowed(int32_t id) const;
  // A stop token was accepted, or the grammar is complete and nothing can follow.
  bool is_terminated() const;
  // The grammar may end here (a stop token is allowed).
  bool can_end() const;
  // Text every continuation must start with (jump-forward); "" when there is a choice.
  std::string forced_text() const;

  size_t mask_words() const { return (static_cast<size_t>(vocab_size_) + 31) / 32; }
  const CompiledGrammar& grammar() const { return *grammar_; }
  const std::shared_ptr<const CompiledGrammar>& grammar_ptr() const { return grammar_; }
  // The automaton state (negative once a stop token was accepted).
  int32_t state() const { return history_.back(); }

 private:
  static constexpr int32_t kStopped = -3;  // a stop token was accepted
  bool is_stop(int32_t id) const;
  int32_t current() const { return history_.back(); }

  std::shared_ptr<const CompiledGrammar> grammar_;
  std::vector<int32_t> stop_ids_;
  std::vector<int32_t> history_;  // state after each accepted step; [0] = initial
  int vocab_size_ = 0;
};

}  // namespace xy::grammar
