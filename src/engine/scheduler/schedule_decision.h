// What one scheduler step decided: the segment each scheduled sequence runs, the KV copies to
// apply before the forward, and who was preempted. Turned into a TokenTable by
// build_token_table (token_table_builder.h).
#pragma once

#include <vector>

#include "engine/kv_cache/kv_copy_op.h"
#include "engine/request.h"
#include "engine/sequence.h"
#include "model/token_table.h"

namespace xy {

struct ScheduledSegment {
  // Valid until the next add/schedule/finish/abort call on the Scheduler.
  Sequence* seq = nullptr;
  SegmentKind kind = SegmentKind::kPrefill;
  int kv_len = 0;      // seq->num_computed_tokens() before the step
  int num_tokens = 0;  // rows: prefill chunk length, 1 (decode) or 1 + num_draft_tokens (verify)
  int num_draft_tokens = 0;       // verify: the first num_draft_tokens of seq->draft_tokens()
  int num_prefix_hit_tokens = 0;  // admission step only: tokens reused from the prefix cache

  // A prefill chunk samples only when it completes the prompt; decode and verify always do,
  // verify on every row.
  bool needs_logits() const {
    return kind != SegmentKind::kPrefill || kv_len + num_tokens == seq->num_tokens();
  }
  int num_logit_rows() const {
    if (kind == SegmentKind::kVerify) return num_tokens;
    return needs_logits() ? 1 : 0;
  }
};

// Positions [begin, end) of a sequence admitted this step get their K/V from the snapshot it
// arrived with (disaggregated prefill); the engine writes them before the forward.
struct KvImportOp {
  SeqId seq = 0;
  int begin = 0;
  int end = 0;
};

struct ScheduleDecision {
  // Decode/verify segments first (importance order), then prefill chunks.
  std::vector<ScheduledSegment> segments;
  std::vector<KvCopyOp> kv_copies;     // apply to the KV storage before the forward
  std::vector<KvImportOp> kv_imports;  // likewise, after the copies
  std::vector<SeqId> preempted;        // moved back to the waiting queue this step
  int num_prefill_tokens = 0;
  int num_decode_tokens = 0;
  int num_verify_tokens = 0;

  int num_batched_tokens() const {
    return num_prefill_tokens + num_decode_tokens + num_verify_tokens;
  }
  bool empty() const { return segments.empty(); }
};

}  // namespace xy
