// The part every proposer shares: the load-adaptive draft length per request
// (draft_length_policy.h) and the acceptance counters per draft position. A concrete proposer
// implements draft(): given each sequence's chosen length (already > 0), park the drafts.
//
// Thread: engine thread; stats() from any thread.
#pragma once

#include <mutex>
#include <span>
#include <vector>

#include "engine/spec/draft_length_policy.h"
#include "engine/spec/proposer.h"

namespace xy::spec {

class AdaptiveProposer : public Proposer {
 public:
  explicit AdaptiveProposer(const DraftLengthConfig& policy) : policy_(policy) {}

  Status propose(std::span<Sequence* const> decoding, const ProposeContext& ctx) final;
  void observe(const Sequence& seq, int num_granted, int num_accepted) final;
  void release(SeqId id) final;
  SpecStats stats() const final;

  const DraftLengthPolicy& policy() const { return policy_; }

 protected:
  // seqs[i] gets at most lengths[i] >= 1 drafts (fewer or none is fine).
  virtual Status draft(std::span<Sequence* const> seqs, std::span<const int> lengths) = 0;
  // Drop per-sequence state (release()).
  virtual void forget(SeqId id) = 0;

 private:
  DraftLengthPolicy policy_;
  mutable std::mutex stats_mu_;
  SpecStats stats_;
};

}  // namespace xy::spec
