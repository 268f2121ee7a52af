#include "engine/sampling/token_history.h"

#include "core/check.h"

namespace xy {

TokenHistory::Entry& TokenHistory::entry_for(int32_t token) {
  auto [it, inserted] = index_.try_emplace(token, static_cast<uint32_t>(entries_.size()));
  if (inserted) entries_.push_back({token, false, 0});
  return entries_[it->second];
}

void TokenHistory::add_prompt(std::span<const int32_t> prompt) {
  for (int32_t token : prompt) entry_for(token).in_prompt = true;
}

void TokenHistory::add_output(int32_t token) {
  ++entry_for(token).output_count;
  ++num_output_tokens_;
}

void TokenHistory::remove_output(int32_t token) {
  auto it = index_.find(token);
  XY_CHECK_MSG(it != index_.end() && entries_[it->second].output_count > 0,
               "remove_output of a token that was not generated");
  --entries_[it->second].output_count;
  --num_output_tokens_;
}

uint32_t TokenHistory::output_count(int32_t token) const {
  auto it = index_.find(token);
  return it == index_.end() ? 0 : entries_[it->second].output_count;
}

bool TokenHistory::in_prompt(int32_t token) const {
  auto it = index_.find(token);
  return it != index_.end() && entries_[it->second].in_prompt;
}

}  // namespace xy
