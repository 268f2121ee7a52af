// Speculative-decoding acceptance counters for the metrics (EngineStats::spec, the server's
// /metrics, bench reports). A plain value; Proposer::stats() returns a consistent snapshot.
#pragma once

#include <cstdint>
#include <vector>

namespace xy::spec {

// Index i = draft position i (0-based; for a tree, proposed_at counts the i-th granted node and
// accepted_at the i-th node of the accepted path): proposed_at[i] verifies had a draft there,
// accepted_at[i] kept it.
struct SpecStats {
  std::vector<int64_t> proposed_at;  // [max draft length seen]
  std::vector<int64_t> accepted_at;  // [same]
  int64_t num_verifies = 0;          // verify segments observed
  int64_t num_draft_tokens = 0;      // granted drafts, all positions
  int64_t num_accepted_tokens = 0;   // accepted drafts, all positions
  int64_t num_proposals = 0;         // (sequence, step) pairs asked for drafts
  int64_t num_skipped = 0;           // of which the adaptive policy chose length 0 (plain decode)

  double acceptance_rate() const {
    return num_draft_tokens == 0 ? 0.0
                                 : static_cast<double>(num_accepted_tokens) / num_draft_tokens;
  }
};

}  // namespace xy::spec
