#include "engine/spec/adaptive_proposer.h"

#include <algorithm>

namespace xy::spec {

Status AdaptiveProposer::propose(std::span<Sequence* const> decoding, const ProposeContext& ctx) {
  std::vector<Sequence*> seqs;
  std::vector<int> lengths;
  int64_t skipped = 0;
  for (Sequence* seq : decoding) {
    // Never past max_output_tokens: a verify appends accepted drafts + 1 token.
    const int room = seq->max_total_tokens() - seq->num_tokens() - 1;
    const int max_k = std::min(ctx.max_draft_tokens, room);
    const int k = policy_.choose(seq->id(), max_k, ctx.num_running, ctx.step_token_budget);
    if (k <= 0) {
      seq->set_draft_tokens({});
      ++skipped;
      continue;
    }
    seqs.push_back(seq);
    lengths.push_back(k);
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.num_proposals += static_cast<int64_t>(decoding.size());
    stats_.num_skipped += skipped;
  }
  if (seqs.empty()) return Status::ok();
  return draft(seqs, lengths);
}

void AdaptiveProposer::observe(const Sequence& seq, int num_granted, int num_accepted) {
  policy_.observe(seq.id(), num_granted, num_accepted);
  std::lock_guard<std::mutex> lock(stats_mu_);
  const size_t g = static_cast<size_t>(std::max(0, num_granted));
  if (stats_.proposed_at.size() < g) {
    stats_.proposed_at.resize(g, 0);
    stats_.accepted_at.resize(g, 0);
  }
  for (size_t i = 0; i < g; ++i) {
    ++stats_.proposed_at[i];
    if (static_cast<int>(i) < num_accepted) ++stats_.accepted_at[i];
  }
  ++stats_.num_verifies;
  stats_.num_draft_tokens += num_granted;
  stats_.num_accepted_tokens += num_accepted;
}

void AdaptiveProposer::release(SeqId id) {
  policy_.release(id);
  forget(id);
}

SpecStats AdaptiveProposer::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace xy::spec
