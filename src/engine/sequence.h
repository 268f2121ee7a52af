// The engine's state of one request (nano-vllm's Sequence as a model): its tokens, where it is in
// its life, how much of it has K/V in the cache, and its KV block table. Speculation, metrics
// and streaming state live beside it, not in it; only the draft tokens the proposer wants
// verified this step are parked here, because the scheduler budgets them.
//
// Token layout: tokens() = prompt then outputs. num_computed_tokens() of them have K/V in the
// cache. Between steps a running sequence is either
//   prefilling: num_computed < num_tokens, nothing sampled since admission, or
//   decoding:   num_computed == num_tokens - 1 (the last sampled token has no K/V yet).
// A preempted sequence keeps its tokens and recomputes prompt + outputs as one prefill when it
// is admitted again.
//
// Thread: owned by the Scheduler, touched only by the engine thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/request.h"

namespace xy {

enum class SequenceStatus : uint8_t { kWaiting, kRunning, kPreempted, kFinished };
const char* sequence_status_name(SequenceStatus status);

enum class FinishReason : uint8_t { kNone, kLength, kStop, kAborted };

// KV bookkeeping of one sequence, written only by BlockManager.
struct SequenceKv {
  std::vector<int32_t> block_table;  // [num_blocks] physical block ids, logical order
  int num_cached_blocks = 0;         // leading blocks known to the prefix cache (immutable, shared)
};

class Sequence {
 public:
  // The request must pass validate_request (checked). arrival_index orders FCFS.
  Sequence(const Request& request, uint64_t arrival_index);

  SeqId id() const { return id_; }
  int priority() const { return priority_; }
  uint64_t arrival_index() const { return arrival_index_; }
  double arrival_time_s() const { return arrival_time_s_; }
  // Monotonic order of the latest admission (set by the scheduler); preemption victims are the
  // most recently admitted among the least important.
  uint64_t admission_index() const { return admission_index_; }

  std::span<const int32_t> tokens() const { return tokens_; }
  std::span<const int32_t> prompt_tokens() const {
    return std::span<const int32_t>(tokens_).first(num_prompt_tokens_);
  }
  std::span<const int32_t> output_tokens() const {
    return std::span<const int32_t>(tokens_).subspan(num_prompt_tokens_);
  }
  int num_tokens() const { return static_cast<int>(tokens_.size()); }
  int num_prompt_tokens() const { return num_prompt_tokens_; }
  int num_output_tokens() const { return num_tokens() - num_prompt_tokens_; }
  int max_output_tokens() const { return max_output_tokens_; }
  // Upper bound of num_tokens over the sequence's life: the KV slots it may ever need.
  int max_total_tokens() const { return num_prompt_tokens_ + max_output_tokens_; }
  bool reached_max_output() const { return num_output_tokens() >= max_output_tokens_; }

  SequenceStatus status() const { return status_; }
  FinishReason finish_reason() const { return finish_reason_; }
  bool is_finished() const { return status_ == SequenceStatus::kFinished; }

  int num_computed_tokens() const { return num_computed_tokens_; }
  int num_uncomputed_tokens() const { return num_tokens() - num_computed_tokens_; }
  // Running and still working through the tokens it had at admission.
  bool is_prefilling() const {
    return status_ == SequenceStatus::kRunning && num_computed_tokens_ < prefill_end_;
  }

  const SequenceKv& kv() const { return kv_; }
  SequenceKv& mutable_kv() { return kv_; }  // BlockManager only
  const std::vector<int32_t>& block_table() const { return kv_.block_table; }

  // Draft tokens a proposer wants verified after the last token this step (may be empty). The
  // scheduler may grant only a prefix of them (ScheduledSegment::num_draft_tokens).
  std::span<const int32_t> draft_tokens() const { return draft_tokens_; }
  void set_draft_tokens(std::vector<int32_t> drafts);
  // Tree drafts (verified in one segment with a spec mask): parents[i] is draft i's parent, -1 for
  // the sequence's last token (the root) or an index < i into draft_tokens(), so every prefix the
  // scheduler grants is itself a tree. Positions are kv_len + depth. Empty = a chain.
  std::span<const int32_t> draft_parents() const { return draft_parents_; }
  void set_draft_tree(std::vector<int32_t> drafts, std::vector<int32_t> parents);

  // Leading positions whose K/V arrive from another engine at the first admission
  // (disaggregated prefill); 0 once admitted (a preempted sequence recomputes everything).
  int num_imported_kv_tokens() const { return num_imported_kv_tokens_; }
  // Prompt tokens served from the prefix cache at the first admission (OpenAI's cached_tokens).
  int cached_tokens() const { return cached_tokens_; }
  int num_preemptions() const { return num_preemptions_; }
  // Scheduler steps spent waiting since arrival or the last preemption (starvation guard).
  int waiting_steps() const { return waiting_steps_; }

  // --- state transitions (Scheduler / BlockManager) ---
  void note_waiting_step() { ++waiting_steps_; }
  // waiting|preempted -> running; num_prefix_hit_tokens already have K/V (prefix cache), and
  // num_imported more after them (disaggregated prefill).
  void mark_admitted(uint64_t admission_index, int num_prefix_hit_tokens, int num_imported = 0);
  // running -> preempted; the block table must already be released.
  void mark_preempted();
  // any -> finished; the block table must already be released.
  void mark_finished(FinishReason reason);
  // Applies one step's outcome: appends new_tokens (sampled / accepted), then num_new_computed
  // more tokens have K/V. Clears the drafts. Checks the between-steps invariant afterwards.
  void apply_step(int num_new_computed, std::span<const int32_t> new_tokens);

  // XY_CHECKs the invariants documented above.
  void check_invariants() const;

 private:
  SeqId id_;
  int priority_;
  uint64_t arrival_index_;
  double arrival_time_s_;
  uint64_t admission_index_ = 0;
  std::vector<int32_t> tokens_;  // [num_tokens] prompt then outputs
  int num_prompt_tokens_;
  int max_output_tokens_;
  SequenceStatus status_ = SequenceStatus::kWaiting;
  FinishReason finish_reason_ = FinishReason::kNone;
  int num_computed_tokens_ = 0;
  int prefill_end_ = 0;  // num_tokens at the latest admission
  SequenceKv kv_;
  std::vector<int32_t> draft_tokens_;
  std::vector<int32_t> draft_parents_;  // [num drafts] or empty (chain)
  int cached_tokens_ = 0;
  int num_imported_kv_tokens_ = 0;
  bool ever_admitted_ = false;
  int num_preemptions_ = 0;
  int waiting_steps_ = 0;
};

}  // namespace xy
