// A model-free engine for scheduler tests: it plays the engine loop against the real Scheduler
// and BlockManager (add arrivals, abort, propose drafts, schedule, "run" the step, commit,
// finish at max length) and checks every step against independent bookkeeping:
//   - the budget, seat limit and segment accounting;
//   - every decoding sequence is served (or preempted), decodes come before prefills;
//   - prefill chunks continue exactly where the sequence stopped;
//   - the Token-Table rows, positions and slot mapping, and that no row writes into a shared or
//     cached block;
//   - a fake KV store (token id and position per slot) proves that every K/V a segment reads —
//     shared prefix blocks, copy-on-write copies, its own earlier writes — holds that sequence's
//     tokens at those positions;
//   - preemption victims are a suffix of the running queue in importance order;
//   - BlockManager::validate after every step.
// Output tokens are a deterministic function of (request, position), so a recomputed or resumed
// sequence must produce exactly what it would have alone.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "engine/kv_cache/block_manager.h"
#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/token_table_builder.h"

namespace xy::testing {

inline int32_t fake_token(SeqId id, int position) {
  uint64_t h = static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(position);
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return static_cast<int32_t>(h % 1000);
}

struct SimArrival {
  int step = 0;  // added before schedule() of this step (steps count from 0)
  Request request;
  int abort_step = -1;  // aborted before schedule() of this step, if still live
};

struct SimOptions {
  SchedulerConfig config;
  int num_blocks = 64;
  int block_size = 16;
  bool prefix_caching = true;
  int max_draft_tokens = 0;  // > 0: decoding sequences propose 0..max drafts each step
  uint64_t seed = 1;
  int max_steps = 20000;  // a run that needs more is a livelock
};

struct SimSegmentLog {
  SeqId id;
  SegmentKind kind;
  int kv_len;
  int num_tokens;
  int num_prefix_hit_tokens;
};

struct SimStepLog {
  int step = 0;
  std::vector<SimSegmentLog> segments;
  std::vector<SeqId> preempted;
  int num_batched_tokens = 0;
  int num_copies = 0;
};

struct SimResult {
  std::vector<SimStepLog> steps;
  std::map<SeqId, std::vector<int32_t>> outputs;  // finished by length
  std::map<SeqId, Status> rejected;
  std::set<SeqId> aborted;
  std::map<SeqId, int> first_scheduled_step;
  std::map<SeqId, int> num_preemptions;
  bool completed = false;
};

class SchedSimulator {
 public:
  explicit SchedSimulator(const SimOptions& options)
      : options_(options),
        blocks_(options.num_blocks, options.block_size, options.prefix_caching),
        scheduler_(options.config, blocks_),
        rng_(options.seed),
        kv_(static_cast<size_t>(options.num_blocks) * options.block_size, {-1, -1}) {}

  Scheduler& scheduler() { return scheduler_; }
  BlockManager& blocks() { return blocks_; }

  SimResult run(std::vector<SimArrival> arrivals) {
    SimResult result;
    std::stable_sort(arrivals.begin(), arrivals.end(),
                     [](const SimArrival& a, const SimArrival& b) { return a.step < b.step; });
    size_t next_arrival = 0;
    std::map<int, std::vector<SeqId>> aborts;
    for (int step = 0; step < options_.max_steps; ++step) {
      while (next_arrival < arrivals.size() && arrivals[next_arrival].step <= step) {
        const SimArrival& a = arrivals[next_arrival++];
        const Status status = scheduler_.add(a.request);
        if (!status.is_ok()) {
          result.rejected.emplace(a.request.id, status);
        } else if (a.abort_step >= 0) {
          aborts[std::max(a.abort_step, step)].push_back(a.request.id);
        }
      }
      for (const SeqId id : aborts[step]) {
        if (scheduler_.find(id) != nullptr) {
          EXPECT_TRUE(scheduler_.abort(id).is_ok());
          result.aborted.insert(id);
        }
      }
      if (!scheduler_.has_unfinished()) {
        if (next_arrival == arrivals.size()) {
          result.completed = true;
          break;
        }
        continue;
      }
      play_step(step, result);
      if (::testing::Test::HasFatalFailure() || failures_ > 20) break;
    }
    return result;
  }

  // After everything finished: every reference is gone and the cache evicts cleanly, so a
  // sequence can take the whole pool.
  void expect_pool_fully_returned() {
    const Status v = blocks_.validate({});
    EXPECT_TRUE(v.is_ok()) << v.to_string();
    for (int b = 0; b < blocks_.num_blocks(); ++b) EXPECT_EQ(blocks_.pool().ref_count(b), 0);
    EXPECT_EQ(blocks_.num_reclaimable_blocks(), blocks_.num_blocks());
    Request r;
    r.id = -1;
    r.prompt_tokens.assign(static_cast<size_t>(blocks_.num_blocks()) * blocks_.block_size() - 1, 7);
    r.max_output_tokens = 1;
    Sequence whole(r, 0);
    EXPECT_TRUE(blocks_.ensure_slots(whole, blocks_.num_blocks() * blocks_.block_size()));
    EXPECT_EQ(blocks_.num_free_blocks(), 0);
    EXPECT_EQ(blocks_.num_cached_blocks(), 0);
    blocks_.release(whole);
    EXPECT_EQ(blocks_.num_free_blocks(), blocks_.num_blocks());
  }

 private:
  using Slot = std::pair<int32_t, int32_t>;  // (token, position) written into a KV slot

  static std::tuple<int, uint64_t> importance(const Sequence* s, bool prio) {
    return {prio ? s->priority() : 0, s->admission_index()};
  }

  void fail(const std::string& what) {
    ++failures_;
    ADD_FAILURE() << what;
  }

  void propose_drafts() {
    if (options_.max_draft_tokens <= 0) return;
    for (Sequence* seq : scheduler_.running()) {
      if (seq->is_prefilling()) continue;
      const int k = std::uniform_int_distribution<int>(0, options_.max_draft_tokens)(rng_);
      std::vector<int32_t> drafts;
      for (int j = 0; j < k; ++j) drafts.push_back(fake_token(seq->id(), seq->num_tokens() + j));
      seq->set_draft_tokens(std::move(drafts));
    }
  }

  void play_step(int step, SimResult& result) {
    const SchedulerConfig& cfg = options_.config;
    const int bs = blocks_.block_size();
    propose_drafts();
    // Pre-step snapshot for the checks.
    std::vector<Sequence*> running_before(scheduler_.running().begin(), scheduler_.running().end());
    std::stable_sort(
        running_before.begin(), running_before.end(), [&](const Sequence* a, const Sequence* b) {
          return importance(a, cfg.priority_scheduling) < importance(b, cfg.priority_scheduling);
        });
    std::map<SeqId, int> computed_before;
    std::set<SeqId> decoding_before;
    for (Sequence* s : running_before) {
      computed_before[s->id()] = s->num_computed_tokens();
      if (!s->is_prefilling()) decoding_before.insert(s->id());
    }

    const ScheduleDecision d = scheduler_.schedule();

    SimStepLog log;
    log.step = step;
    log.preempted = d.preempted;
    log.num_batched_tokens = d.num_batched_tokens();
    log.num_copies = static_cast<int>(d.kv_copies.size());
    for (const ScheduledSegment& s : d.segments) {
      log.segments.push_back(
          {s.seq->id(), s.kind, s.kv_len, s.num_tokens, s.num_prefix_hit_tokens});
      result.first_scheduled_step.emplace(s.seq->id(), step);
    }
    for (const SeqId id : d.preempted) ++result.num_preemptions[id];

    // Budget, seats, accounting.
    int rows = 0;
    for (const ScheduledSegment& s : d.segments) rows += s.num_tokens;
    if (rows != d.num_batched_tokens()) fail("segment rows != num_batched_tokens");
    if (rows > cfg.max_num_batched_tokens) fail("budget exceeded at step " + std::to_string(step));
    if (static_cast<int>(scheduler_.running().size()) > cfg.max_num_seqs) fail("too many seqs");
    if (d.empty() && scheduler_.has_unfinished()) {
      fail("empty step with unfinished requests at step " + std::to_string(step));
    }

    // Preemption victims: a suffix of the running queue in importance order.
    if (!d.preempted.empty()) {
      std::vector<SeqId> suffix;
      for (size_t i = running_before.size() - d.preempted.size(); i < running_before.size(); ++i) {
        suffix.push_back(running_before[i]->id());
      }
      std::vector<SeqId> got = d.preempted;
      std::reverse(got.begin(), got.end());  // least important is preempted first
      if (got != suffix) fail("preemption victims are not the least important running");
    }

    // Decodes first and always served; prefill chunks continue where they stopped.
    bool seen_prefill = false;
    std::set<SeqId> scheduled;
    for (const ScheduledSegment& s : d.segments) {
      const SeqId id = s.seq->id();
      if (!scheduled.insert(id).second) fail("sequence scheduled twice");
      if (s.kind == SegmentKind::kPrefill) {
        seen_prefill = true;
      } else if (seen_prefill) {
        fail("decode after a prefill in the segment order");
      }
      if (computed_before.count(id) && s.kv_len != computed_before[id]) {
        fail("segment does not continue at num_computed_tokens");
      }
      if (s.kind != SegmentKind::kPrefill && !decoding_before.count(id))
        fail("decode of a prefill");
      if (s.kind == SegmentKind::kPrefill && s.kv_len + s.num_tokens > s.seq->num_tokens()) {
        fail("prefill chunk past the prompt");
      }
    }
    for (const SeqId id : decoding_before) {
      const bool preempted = std::count(d.preempted.begin(), d.preempted.end(), id) > 0;
      if (!preempted && !scheduled.count(id)) {
        fail("decoding sequence " + std::to_string(id) + " not served at step " +
             std::to_string(step));
      }
    }

    // Apply copy-on-write ops to the fake KV store, then check the sources and destinations.
    for (const KvCopyOp& op : d.kv_copies) {
      const PrefixCache* cache = blocks_.prefix_cache();
      if (cache == nullptr || !cache->contains(op.src_block)) fail("copy from an uncached block");
      if (blocks_.pool().ref_count(op.dst_block) != 1) fail("copy into a shared block");
      if (op.num_tokens < 1 || op.num_tokens >= bs) fail("copy length out of range");
      for (int j = 0; j < op.num_tokens; ++j) {
        kv_[static_cast<size_t>(op.dst_block) * bs + j] =
            kv_[static_cast<size_t>(op.src_block) * bs + j];
      }
    }

    // The Token-Table, and the KV each segment reads and writes.
    const TokenTable table = build_token_table(d, bs);
    check_token_table(d, table);

    // Run the step: write K/V rows, then commit as the engine would.
    for (int row = 0; row < table.num_tokens(); ++row) {
      kv_[static_cast<size_t>(table.slot_mapping[row])] = {table.token_ids[row],
                                                           table.positions[row]};
    }
    for (const ScheduledSegment& s : d.segments) {
      Sequence& seq = *s.seq;
      const SeqId id = seq.id();
      std::vector<int32_t> new_tokens;
      int computed = s.num_tokens;
      if (s.kind == SegmentKind::kVerify) {
        const int accepted = std::uniform_int_distribution<int>(0, s.num_draft_tokens)(rng_);
        for (int j = 0; j < accepted; ++j) new_tokens.push_back(seq.draft_tokens()[j]);
        new_tokens.push_back(fake_token(id, seq.num_tokens() + accepted));
        computed = 1 + accepted;
      } else if (s.needs_logits()) {
        new_tokens.push_back(fake_token(id, seq.num_tokens()));
      }
      scheduler_.commit(id, computed, new_tokens);
      if (seq.reached_max_output()) {
        std::unique_ptr<Sequence> done = scheduler_.finish(id, FinishReason::kLength);
        result.outputs[id].assign(done->output_tokens().begin(), done->output_tokens().end());
      }
    }
    const std::vector<const Sequence*> holders = scheduler_.block_holders();
    const Status v = blocks_.validate(holders);
    if (!v.is_ok()) fail("step " + std::to_string(step) + ": " + v.to_string());
    for (const Sequence* s : holders) s->check_invariants();
    result.steps.push_back(std::move(log));
  }

  void check_token_table(const ScheduleDecision& d, const TokenTable& table) {
    const int bs = blocks_.block_size();
    if (table.segments.size() != d.segments.size()) fail("segment count");
    std::set<int64_t> written;
    int expected_start = 0;
    size_t logit_index = 0;
    for (size_t i = 0; i < d.segments.size(); ++i) {
      const ScheduledSegment& s = d.segments[i];
      const Segment& seg = table.segments[i];
      const Sequence& seq = *s.seq;
      if (seg.start != expected_start || seg.num_tokens != s.num_tokens || seg.kv_len != s.kv_len ||
          seg.kind != s.kind) {
        fail("segment header mismatch");
        return;
      }
      expected_start += seg.num_tokens;
      if (seg.num_blocks * bs < seg.kv_len + seg.num_tokens) fail("segment blocks too few");
      // Everything the segment attends to that is already cached holds this sequence's tokens.
      for (int p = 0; p < s.kv_len; ++p) {
        const int32_t block = table.block_tables[seg.block_table_offset + p / bs];
        const Slot got = kv_[static_cast<size_t>(block) * bs + p % bs];
        if (got != Slot{seq.tokens()[p], p}) {
          fail("sequence " + std::to_string(seq.id()) + " reads wrong K/V at position " +
               std::to_string(p));
          return;
        }
      }
      for (int j = 0; j < seg.num_tokens; ++j) {
        const int row = seg.start + j;
        const int pos = s.kv_len + j;
        if (table.positions[row] != pos) fail("position");
        const int32_t expected_token = (s.kind == SegmentKind::kVerify && j > 0)
                                           ? seq.draft_tokens()[j - 1]
                                           : seq.tokens()[pos];
        if (table.token_ids[row] != expected_token) fail("token id");
        const int32_t block = seq.block_table()[pos / bs];
        if (table.slot_mapping[row] != static_cast<int64_t>(block) * bs + pos % bs) fail("slot");
        if (!written.insert(table.slot_mapping[row]).second) fail("two rows write one slot");
        const PrefixCache* cache = blocks_.prefix_cache();
        if (blocks_.pool().ref_count(block) != 1 || (cache && cache->contains(block))) {
          fail("a row writes into a shared or cached block");
        }
      }
      // Logit rows: the last row of a sampling prefill/decode, all verify rows.
      const int nl = s.num_logit_rows();
      for (int j = 0; j < nl; ++j) {
        const int want =
            s.kind == SegmentKind::kVerify ? seg.start + j : seg.start + seg.num_tokens - 1;
        if (logit_index >= table.logit_rows.size() || table.logit_rows[logit_index] != want) {
          fail("logit rows");
          return;
        }
        ++logit_index;
      }
      if (s.kind == SegmentKind::kPrefill && s.kv_len + s.num_tokens < seq.num_tokens() && nl) {
        fail("unfinished prefill chunk asks for logits");
      }
    }
    if (logit_index != table.logit_rows.size()) fail("extra logit rows");
    if (expected_start != table.num_tokens()) fail("rows not covered by segments");
  }

  SimOptions options_;
  BlockManager blocks_;
  Scheduler scheduler_;
  std::mt19937_64 rng_;
  std::vector<Slot> kv_;  // [num_blocks * block_size] fake K/V: what each slot holds
  int failures_ = 0;
};

}  // namespace xy::testing
