#include "grammar/matcher.h"

#include <algorithm>

#include "core/check.h"

namespace xy::grammar {

GrammarMatcher::GrammarMatcher(std::shared_ptr<const CompiledGrammar> grammar,
                               std::vector<int32_t> stop_ids)
    : grammar_(std::move(grammar)), stop_ids_(std::move(stop_ids)) {
  vocab_size_ = grammar_->vocabulary().size();
  history_.push_back(grammar_->states().initial());
}

bool GrammarMatcher::is_stop(int32_t id) const {
  return std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end();
}

bool GrammarMatcher::accept_token(int32_t id) {
  const int32_t s = current();
  if (s == kStopped || s == PdaStates::kDead) return false;
  if (is_stop(id)) {
    if (!grammar_->states().accepting(s)) return false;
    history_.push_back(kStopped);
    return true;
  }
  if (id < 0 || id >= vocab_size_) return false;
  const std::string_view bytes = grammar_->vocabulary().bytes(id);
  if (bytes.empty()) return false;
  const int32_t next = grammar_->states().next(s, bytes);
  if (next == PdaStates::kDead) return false;
  history_.push_back(next);
  return true;
}

bool GrammarMatcher::accept_bytes(std::string_view bytes) {
  const int32_t s = current();
  if (s == kStopped) return false;
  const int32_t next = grammar_->states().next(s, bytes);
  if (next == PdaStates::kDead) return false;
  history_.push_back(next);
  return true;
}

void GrammarMatcher::rollback(int n) {
  XY_CHECK(n >= 0 && n <= num_accepted());
  history_.resize(history_.size() - static_cast<size_t>(n));
}

void GrammarMatcher::fill_next_token_mask(std::span<uint32_t> mask) const {
  XY_CHECK(mask.size() >= mask_words());
  std::fill(mask.begin(), mask.end(), 0u);
  const int32_t s = current();
  if (s == kStopped) return;
  PdaStates& states = grammar_->states();
  if (!states.finished(s)) {
    const auto m = states.token_mask(s);
    std::copy(m->begin(), m->end(), mask.begin());
  }
  if (states.accepting(s)) {
    for (int32_t id : stop_ids_) {
      if (id >= 0 && static_cast<size_t>(id >> 5) < mask.size()) mask[id >> 5] |= 1u << (id & 31);
    }
  }
}

bool GrammarMatcher::is_token_allowed(int32_t id) const {
  const int32_t s = current();
  if (s == kStopped) return false;
  if (is_stop(id)) return grammar_->states().accepting(s);
  if (id < 0 || id >= vocab_size_) return false;
  const std::string_view bytes = grammar_->vocabulary().bytes(id);
  return !bytes.empty() && grammar_->states().next(s, bytes) != PdaStates::kDead;
}

bool GrammarMatcher::is_terminated() const {
  const int32_t s = current();
  return s == kStopped || grammar_->states().finished(s);
}

bool GrammarMatcher::can_end() const {
  const int32_t s = current();
  return s != kStopped && grammar_->states().accepting(s);
}

std::string GrammarMatcher::forced_text() const {
  const int32_t s = current();
  if (s == kStopped) return {};
  return grammar_->states().forced_bytes(s);
}

}  // namespace xy::grammar
