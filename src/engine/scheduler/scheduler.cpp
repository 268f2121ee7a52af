#include "engine/scheduler/scheduler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/check.h"
#include "engine/scheduler/queue_order.h"

namespace xy {

struct Scheduler::Step {
  ScheduleDecision decision;
  int used_tokens = 0;                 // rows scheduled so far
  int starved_reserve = 0;             // tokens drafts must leave for the starved head of the queue
  uint64_t first_admission_index = 0;  // sequences admitted this step have indices >= this
  std::vector<Sequence*> preempted;

  bool admitted_this_step(const Sequence* seq) const {
    return seq->admission_index() >= first_admission_index;
  }

  bool was_preempted(const Sequence* seq) const {
    return std::find(preempted.begin(), preempted.end(), seq) != preempted.end();
  }
};

Scheduler::Scheduler(const SchedulerConfig& config, BlockManager& blocks)
    : config_(config), blocks_(blocks) {
  XY_CHECK_MSG(config_.validate().is_ok(), "invalid SchedulerConfig");
}

Status Scheduler::add(const Request& request) {
  XY_RETURN_IF_ERROR(validate_request(request, 0));
  const std::string who = "request " + std::to_string(request.id);
  if (sequences_.count(request.id) != 0) return invalid_argument(who + ": id already in use");
  const int64_t total =
      static_cast<int64_t>(request.prompt_tokens.size()) + request.max_output_tokens;
  if (config_.max_model_len > 0 && total > config_.max_model_len) {
    return invalid_argument(who + ": prompt (" + std::to_string(request.prompt_tokens.size()) +
                            " tokens) + max_output_tokens (" +
                            std::to_string(request.max_output_tokens) + ") exceeds max_model_len " +
                            std::to_string(config_.max_model_len));
  }
  const int64_t pool_tokens = static_cast<int64_t>(blocks_.num_blocks()) * blocks_.block_size();
  if (total > pool_tokens) {
    return resource_exhausted(
        who + ": prompt (" + std::to_string(request.prompt_tokens.size()) +
        " tokens) + max_output_tokens (" + std::to_string(request.max_output_tokens) +
        ") needs more KV slots than the whole pool holds (" + std::to_string(blocks_.num_blocks()) +
        " blocks of " + std::to_string(blocks_.block_size()) + " tokens)");
  }
  auto seq = std::make_unique<Sequence>(request, next_arrival_index_++);
  waiting_.push_back(seq.get());
  sequences_.emplace(request.id, std::move(seq));
  return Status::ok();
}

ScheduleDecision Scheduler::schedule() {
  ++num_steps_;
  blocks_.begin_step();
  Step step;
  sort_running(running_, config_.priority_scheduling);
  sort_waiting(waiting_, config_);

  step.first_admission_index = next_admission_index_;

  schedule_decodes(step);
  // Starved requests are admitted before running prefills get the rest of the budget, and
  // verify drafts leave them a share.
  const bool starved_waiting = !waiting_.empty() && is_starved(*waiting_.front(), config_) &&
                               static_cast<int>(running_.size()) < config_.max_num_seqs;
  if (starved_waiting) {
    step.starved_reserve =
        std::min(config_.starved_prefill_tokens, config_.max_num_batched_tokens - step.used_tokens);
  }
  grant_drafts(step);
  if (starved_waiting) admit_waiting(step, /*starved_only=*/true);
  step.starved_reserve = 0;
  schedule_running_prefills(step);
  if (!step.preempted.empty()) sort_waiting(waiting_, config_);  // they re-entered the queue
  admit_waiting(step, /*starved_only=*/false);
  for (Sequence* seq : waiting_) seq->note_waiting_step();

  ScheduleDecision& d = step.decision;
  for (const ScheduledSegment& seg : d.segments) {
    switch (seg.kind) {
      case SegmentKind::kPrefill:
        d.num_prefill_tokens += seg.num_tokens;
        break;
      case SegmentKind::kDecode:
        d.num_decode_tokens += seg.num_tokens;
        break;
      case SegmentKind::kVerify:
        d.num_verify_tokens += seg.num_tokens;
        break;
    }
  }
  XY_CHECK(d.num_batched_tokens() == step.used_tokens);
  XY_CHECK(d.num_batched_tokens() <= config_.max_num_batched_tokens);
  return std::move(step.decision);
}

void Scheduler::schedule_decodes(Step& step) {
  const std::vector<Sequence*> order = running_;  // preemption edits running_
  for (Sequence* seq : order) {
    if (seq->status() != SequenceStatus::kRunning || seq->is_prefilling()) continue;
    if (!make_room(step, *seq, seq->num_computed_tokens() + 1)) continue;
    step.decision.segments.push_back(
        {seq, SegmentKind::kDecode, seq->num_computed_tokens(), 1, 0, 0});
    step.used_tokens += 1;
  }
}

void Scheduler::grant_drafts(Step& step) {
  // Drafts are optional work: they take only budget and blocks nobody else needs, and never
  // trigger a preemption.
  const int bs = blocks_.block_size();
  for (ScheduledSegment& seg : step.decision.segments) {
    if (seg.kind != SegmentKind::kDecode) continue;
    Sequence& seq = *seg.seq;
    const int room = config_.max_num_batched_tokens - step.used_tokens - step.starved_reserve;
    const int spare_blocks = blocks_.num_reclaimable_blocks() - watermark_blocks();
    const int own_slots = static_cast<int>(seq.block_table().size()) * bs;
    const int fit = own_slots + std::max(0, spare_blocks) * bs - (seq.num_computed_tokens() + 1);
    // A verify appends accepted drafts + 1 token: never past max_output_tokens.
    const int k = std::min({static_cast<int>(seq.draft_tokens().size()),
                            seq.max_total_tokens() - seq.num_tokens() - 1, room, fit});
    if (k <= 0) continue;
    XY_CHECK(blocks_.ensure_slots(seq, seq.num_computed_tokens() + 1 + k));
    seg.kind = SegmentKind::kVerify;
    seg.num_tokens = 1 + k;
    seg.num_draft_tokens = k;
    step.used_tokens += k;
  }
}

void Scheduler::schedule_running_prefills(Step& step) {
  const std::vector<Sequence*> order = running_;
  for (Sequence* seq : order) {
    if (seq->status() != SequenceStatus::kRunning || !seq->is_prefilling()) continue;
    if (step.admitted_this_step(seq)) continue;  // its first chunk is already scheduled
    const int room = config_.max_num_batched_tokens - step.used_tokens;
    if (room <= 0) break;
    // Preempt only when not even one token fits; otherwise the chunk shrinks to the blocks there.
    if (!make_room(step, *seq, seq->num_computed_tokens() + 1)) continue;
    const int chunk = std::min({room, seq->num_uncomputed_tokens(),
                                blocks_.max_reachable_slots(*seq) - seq->num_computed_tokens()});
    XY_CHECK(chunk >= 1);
    XY_CHECK(blocks_.ensure_slots(*seq, seq->num_computed_tokens() + chunk));
    step.decision.segments.push_back(
        {seq, SegmentKind::kPrefill, seq->num_computed_tokens(), chunk, 0, 0});
    step.used_tokens += chunk;
  }
}

void Scheduler::admit_waiting(Step& step, bool starved_only) {
  const std::vector<Sequence*> order = waiting_;
  for (Sequence* seq : order) {
    if (starved_only && !is_starved(*seq, config_)) break;
    if (static_cast<int>(running_.size()) >= config_.max_num_seqs) break;
    const int room = config_.max_num_batched_tokens - step.used_tokens;
    if (room <= 0) break;
    // Strict queue order: whoever is first waits for blocks rather than being overtaken, and a
    // sequence preempted for lack of blocks does not come straight back in the same step.
    if (step.was_preempted(seq)) break;
    // Alone, a request always fits (add() checked it against the whole pool): no watermark.
    const bool alone = running_.empty();
    const std::optional<BlockManager::Admission> admission =
        blocks_.admit(*seq, room, alone ? 0 : watermark_blocks(), alone, step.decision.kv_copies);
    if (!admission) break;
    const int hit = admission->num_hit_tokens;
    const int imported = admission->num_imported_tokens;
    seq->mark_admitted(next_admission_index_++, hit, imported);
    std::erase(waiting_, seq);
    running_.push_back(seq);
    if (imported > 0) step.decision.kv_imports.push_back({seq->id(), hit, hit + imported});
    step.decision.segments.push_back(
        {seq, SegmentKind::kPrefill, hit + imported, admission->num_new_tokens, 0, hit});
    step.used_tokens += admission->num_new_tokens;
  }
}

bool Scheduler::make_room(Step& step, Sequence& seq, int num_tokens) {
  while (!blocks_.ensure_slots(seq, num_tokens)) {
    // Sequences admitted this step are off limits: their copy-on-write ops are already issued.
    std::vector<Sequence*> candidates;
    for (Sequence* s : running_) {
      if (!step.admitted_this_step(s)) candidates.push_back(s);
    }
    Sequence* victim = choose_preemption_victim(candidates, config_.priority_scheduling);
    XY_CHECK(victim != nullptr);  // seq itself is a candidate
    preempt(step, *victim);
    if (victim == &seq) return false;
  }
  return true;
}

void Scheduler::preempt(Step& step, Sequence& victim) {
  // A victim already scheduled this step gives its tokens back.
  std::vector<ScheduledSegment>& segments = step.decision.segments;
  for (auto it = segments.begin(); it != segments.end(); ++it) {
    if (it->seq == &victim) {
      step.used_tokens -= it->num_tokens;
      segments.erase(it);
      break;
    }
  }
  blocks_.release(victim);
  victim.mark_preempted();
  std::erase(running_, &victim);
  waiting_.push_back(&victim);
  step.preempted.push_back(&victim);
  step.decision.preempted.push_back(victim.id());
}

int Scheduler::watermark_blocks() const {
  return static_cast<int>(std::ceil(config_.kv_watermark_fraction * blocks_.num_blocks()));
}

void Scheduler::commit(SeqId id, int num_new_computed, std::span<const int32_t> new_tokens) {
  Sequence* seq = find(id);
  XY_CHECK_MSG(seq != nullptr && seq->status() == SequenceStatus::kRunning,
               "commit for a sequence that is not running");
  seq->apply_step(num_new_computed, new_tokens);
  blocks_.cache_full_blocks(*seq);
}

std::unique_ptr<Sequence> Scheduler::finish(SeqId id, FinishReason reason) {
  const auto it = sequences_.find(id);
  XY_CHECK_MSG(it != sequences_.end(), "finish of an unknown sequence");
  std::unique_ptr<Sequence> seq = std::move(it->second);
  sequences_.erase(it);
  std::erase(running_, seq.get());
  std::erase(waiting_, seq.get());
  blocks_.release(*seq);
  seq->mark_finished(reason);
  return seq;
}

Status Scheduler::abort(SeqId id) {
  if (sequences_.count(id) == 0) {
    return not_found("abort: no live request with id " + std::to_string(id));
  }
  finish(id, FinishReason::kAborted);
  return Status::ok();
}

Sequence* Scheduler::find(SeqId id) {
  const auto it = sequences_.find(id);
  return it == sequences_.end() ? nullptr : it->second.get();
}

const Sequence* Scheduler::find(SeqId id) const {
  const auto it = sequences_.find(id);
  return it == sequences_.end() ? nullptr : it->second.get();
}

std::vector<const Sequence*> Scheduler::block_holders() const {
  return std::vector<const Sequence*>(running_.begin(), running_.end());
}

}  // namespace xy
