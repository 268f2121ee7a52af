#include "engine/sequence.h"

#include "core/check.h"

namespace xy {

const char* sequence_status_name(SequenceStatus status) {
  switch (status) {
    case SequenceStatus::kWaiting:
      return "waiting";
    case SequenceStatus::kRunning:
      return "running";
    case SequenceStatus::kPreempted:
      return "preempted";
    case SequenceStatus::kFinished:
      return "finished";
  }
  return "unknown";
}

Sequence::Sequence(const Request& request, uint64_t arrival_index)
    : id_(request.id),
      priority_(request.priority),
      arrival_index_(arrival_index),
      arrival_time_s_(request.arrival_time_s),
      tokens_(request.prompt_tokens),
      num_prompt_tokens_(static_cast<int>(request.prompt_tokens.size())),
      max_output_tokens_(request.max_output_tokens) {
  XY_CHECK_MSG(validate_request(request, 0).is_ok(), "Sequence from an invalid Request");
  tokens_.reserve(static_cast<size_t>(max_total_tokens()));
  tokens_.insert(tokens_.end(), request.generated_tokens.begin(), request.generated_tokens.end());
  num_imported_kv_tokens_ = request.num_imported_kv_tokens;
}

void Sequence::set_draft_tokens(std::vector<int32_t> drafts) {
  XY_CHECK_MSG(status_ == SequenceStatus::kRunning && !is_prefilling(),
               "drafts are only verified for a decoding sequence");
  draft_tokens_ = std::move(drafts);
  draft_parents_.clear();
}

void Sequence::set_draft_tree(std::vector<int32_t> drafts, std::vector<int32_t> parents) {
  XY_CHECK_MSG(parents.size() == drafts.size(), "one parent per draft token");
  for (size_t i = 0; i < parents.size(); ++i) {
    XY_CHECK_MSG(parents[i] >= -1 && parents[i] < static_cast<int32_t>(i),
                 "draft tree parents must precede their children");
  }
  set_draft_tokens(std::move(drafts));
  draft_parents_ = std::move(parents);
}

void Sequence::mark_admitted(uint64_t admission_index, int num_prefix_hit_tokens,
                             int num_imported) {
  XY_CHECK(status_ == SequenceStatus::kWaiting || status_ == SequenceStatus::kPreempted);
  XY_CHECK(num_prefix_hit_tokens >= 0 && num_imported >= 0 &&
           num_prefix_hit_tokens + num_imported < num_tokens());
  status_ = SequenceStatus::kRunning;
  admission_index_ = admission_index;
  num_computed_tokens_ = num_prefix_hit_tokens + num_imported;
  num_imported_kv_tokens_ = 0;
  prefill_end_ = num_tokens();
  waiting_steps_ = 0;
  if (!ever_admitted_) cached_tokens_ = num_prefix_hit_tokens;
  ever_admitted_ = true;
}

void Sequence::mark_preempted() {
  XY_CHECK(status_ == SequenceStatus::kRunning);
  XY_CHECK_MSG(kv_.block_table.empty(), "release the blocks before preempting");
  status_ = SequenceStatus::kPreempted;
  num_computed_tokens_ = 0;
  prefill_end_ = 0;
  draft_tokens_.clear();
  draft_parents_.clear();
  waiting_steps_ = 0;
  ++num_preemptions_;
}

void Sequence::mark_finished(FinishReason reason) {
  XY_CHECK(status_ != SequenceStatus::kFinished);
  XY_CHECK(reason != FinishReason::kNone);
  XY_CHECK_MSG(kv_.block_table.empty(), "release the blocks before finishing");
  status_ = SequenceStatus::kFinished;
  finish_reason_ = reason;
  draft_tokens_.clear();
  draft_parents_.clear();
}

void Sequence::apply_step(int num_new_computed, std::span<const int32_t> new_tokens) {
  XY_CHECK(status_ == SequenceStatus::kRunning);
  XY_CHECK(num_new_computed >= 1);
  const bool was_prefilling = is_prefilling();
  tokens_.insert(tokens_.end(), new_tokens.begin(), new_tokens.end());
  num_computed_tokens_ += num_new_computed;
  // A prefill chunk never computes past the admission-time tokens; sampling is only allowed once
  // the prefill has caught up with them.
  if (was_prefilling) {
    XY_CHECK_MSG(num_computed_tokens_ <= prefill_end_, "prefill chunk past the prompt");
    XY_CHECK_MSG(new_tokens.empty() || num_computed_tokens_ == prefill_end_,
                 "sampled a token before the prefill finished");
  } else {
    XY_CHECK_MSG(!new_tokens.empty(), "a decode/verify step must append a token");
  }
  draft_tokens_.clear();
  draft_parents_.clear();
  check_invariants();
}

void Sequence::check_invariants() const {
  XY_CHECK(num_prompt_tokens_ >= 1);
  XY_CHECK(num_tokens() >= num_prompt_tokens_);
  XY_CHECK_MSG(num_tokens() <= max_total_tokens(), "more outputs than max_output_tokens");
  XY_CHECK(num_computed_tokens_ >= 0 && num_computed_tokens_ <= num_tokens());
  switch (status_) {
    case SequenceStatus::kWaiting:
    case SequenceStatus::kPreempted:
    case SequenceStatus::kFinished:
      XY_CHECK(num_computed_tokens_ == 0 || status_ == SequenceStatus::kFinished);
      XY_CHECK(kv_.block_table.empty());
      break;
    case SequenceStatus::kRunning:
      if (is_prefilling()) {
        XY_CHECK_MSG(num_tokens() == prefill_end_, "tokens appended during a prefill");
      } else {
        XY_CHECK_MSG(num_computed_tokens_ == num_tokens() - 1,
                     "a decoding sequence has exactly one token without K/V");
      }
      break;
  }
  XY_CHECK(kv_.num_cached_blocks >= 0 &&
           kv_.num_cached_blocks <= static_cast<int>(kv_.block_table.size()));
}

}  // namespace xy
