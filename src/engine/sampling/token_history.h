// Per-request token counts that the repetition / frequency / presence penalties read.
//
// Compact: memory is O(distinct tokens seen), never O(vocab), so thousands of running requests
// cost little. Incremental: the engine calls add_output() once per generated token; nothing is
// rebuilt per step. Speculative verification can push draft tokens and pop them again.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace xy {

class TokenHistory {
 public:
  struct Entry {
    int32_t token;
    bool in_prompt;         // seen in the prompt (repetition penalty only)
    uint32_t output_count;  // times generated so far (all three penalties)
  };

  TokenHistory() = default;
  explicit TokenHistory(std::span<const int32_t> prompt) { add_prompt(prompt); }

  // Prompt tokens (a prompt may arrive in chunks; call once per chunk).
  void add_prompt(std::span<const int32_t> prompt);
  void add_output(int32_t token);
  // Undoes one add_output(token) (a rejected speculative token). The token must have been added
  // (XY_CHECK): popping a token that was never generated is a bug in the caller.
  void remove_output(int32_t token);

  // Distinct tokens seen, in first-seen order (deterministic iteration for the penalties).
  // Entries whose output_count dropped back to 0 and are not in the prompt stay listed; they
  // carry no penalty. Valid until the next mutating call.
  std::span<const Entry> entries() const { return entries_; }
  uint32_t output_count(int32_t token) const;
  bool in_prompt(int32_t token) const;
  int64_t num_output_tokens() const { return num_output_tokens_; }

 private:
  Entry& entry_for(int32_t token);

  std::vector<Entry> entries_;
  std::unordered_map<int32_t, uint32_t> index_;  // token -> position in entries_
  int64_t num_output_tokens_ = 0;
};

}  // namespace xy
