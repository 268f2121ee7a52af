// The token-wise hybrid scheduler: a decision function over the request queues and the KV
// block pool, testable without a model. Each schedule() call composes one step within the token
// budget:
//   1. one decode token for every running, decoding sequence (reserved; out of blocks -> preempt
//      the lowest-priority, most recently admitted running sequence, possibly itself);
//   2. the verify drafts of those sequences, from what the budget and pool leave;
//   3. the next chunk of running prefills (long prompts span steps);
//   4. new and preempted requests, in queue order, while budget, seats and blocks last.
// A starved waiting request (SchedulerConfig::starvation_steps, with the bound) is admitted
// between steps 2 and 3, and step 2 leaves it a share of the budget.
//
// The engine then runs the step and reports each segment with commit(), and retires sequences
// with finish() / abort(). One engine step, in outline:
//
//   for (Sequence* s : sched.running()) if (!s->is_prefilling()) s->set_draft_tokens(propose(*s));
//   ScheduleDecision d = sched.schedule();
//   kv_storage.copy(d.kv_copies);                      // before the forward, every layer
//   logits = model.forward(build_token_table(d, block_size));
//   for (const ScheduledSegment& seg : d.segments) {   // logits rows in segment order
//     if (seg.num_logit_rows() == 0) { sched.commit(id, seg.num_tokens, {}); continue; }
//     decode: sched.commit(id, 1, {token});  prefill end: sched.commit(id, seg.num_tokens, {token})
//     verify: sched.commit(id, 1 + accepted, {accepted drafts..., bonus token})
//     if (stop condition) sched.finish(id, reason);
//   }
//
// Ownership: the Scheduler owns the Sequences; the BlockManager is borrowed and must outlive it.
// Thread: not thread-safe; the engine thread calls everything.
#pragma once

#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "engine/kv_cache/block_manager.h"
#include "engine/request.h"
#include "engine/scheduler/schedule_decision.h"
#include "engine/scheduler/scheduler_config.h"
#include "engine/sequence.h"

namespace xy {

class Scheduler {
 public:
  // config must validate (checked).
  Scheduler(const SchedulerConfig& config, BlockManager& blocks);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request. Rejects (without queueing) a malformed request, a duplicate live id, one
  // longer than max_model_len, and one whose prompt + max_output_tokens cannot fit in the whole
  // KV pool, so that every queued request can always finish alone.
  Status add(const Request& request);

  // Composes the next step. Mutates queues and block tables (admissions, growth, preemptions).
  ScheduleDecision schedule();

  // Reports the outcome of a scheduled segment of sequence `id`: new_tokens (sampled, or accepted
  // drafts + the bonus token) are appended and num_new_computed more tokens now have K/V (chunk
  // length; 1 for decode; 1 + accepted drafts for verify). Filled blocks go to the prefix cache.
  void commit(SeqId id, int num_new_computed, std::span<const int32_t> new_tokens);

  // Retires a sequence (blocks released, cached ones stay cached) and hands it back.
  std::unique_ptr<Sequence> finish(SeqId id, FinishReason reason);
  // finish(id, kAborted) for any live sequence, waiting or running; kNotFound if unknown. Call
  // between steps (not between schedule() and the commits of that step).
  Status abort(SeqId id);

  Sequence* find(SeqId id);
  const Sequence* find(SeqId id) const;
  std::span<Sequence* const> running() const { return running_; }
  std::span<Sequence* const> waiting() const { return waiting_; }
  bool has_unfinished() const { return !sequences_.empty(); }
  // Sequences holding KV blocks (for BlockManager::validate).
  std::vector<const Sequence*> block_holders() const;

  const SchedulerConfig& config() const { return config_; }
  const BlockManager& blocks() const { return blocks_; }
  int64_t num_steps() const { return num_steps_; }

 private:
  struct Step;  // one schedule() call's working state (scheduler.cpp)

  void schedule_decodes(Step& step);
  void grant_drafts(Step& step);
  void schedule_running_prefills(Step& step);
  void admit_waiting(Step& step, bool starved_only);
  // Frees blocks by preempting until `seq` has slots for num_tokens; false if `seq` itself was
  // preempted.
  bool make_room(Step& step, Sequence& seq, int num_tokens);
  void preempt(Step& step, Sequence& victim);
  int watermark_blocks() const;

  SchedulerConfig config_;
  BlockManager& blocks_;
  std::unordered_map<SeqId, std::unique_ptr<Sequence>> sequences_;
  std::vector<Sequence*> running_;  // admitted, most important first after sort_running
  std::vector<Sequence*> waiting_;  // new and preempted
  uint64_t next_arrival_index_ = 0;
  uint64_t next_admission_index_ = 0;
  int64_t num_steps_ = 0;
};

}  // namespace xy
