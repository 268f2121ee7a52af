// The seam between the engine loop and speculative decoding. Before each schedule() the engine
// hands the proposer the sequences that will decode this step; the proposer parks the drafts it
// wants verified on them (Sequence::set_draft_tokens for a chain, set_draft_tree for a token
// tree), sized by its own load-adaptive policy. After the step the engine reports how many of the
// granted drafts were accepted, so acceptance statistics and per-request draft lengths can adapt.
// Drafts are deterministic proposals (q = one-hot), which is what the verifier assumes.
//
// Thread: engine thread only, except stats(), which any thread may call. Engine with no proposer
// = speculation off.
#pragma once

#include <span>

#include "core/status.h"
#include "engine/request.h"
#include "engine/sequence.h"
#include "engine/spec/spec_stats.h"

namespace xy::spec {

// What the proposer may know about the coming step.
struct ProposeContext {
  int max_draft_tokens = 0;   // --num-speculative-tokens (per request, per step)
  int step_token_budget = 0;  // the scheduler's token budget for the step
  int num_running = 0;        // running sequences (decoding + prefilling)
};

class Proposer {
 public:
  virtual ~Proposer() = default;
  virtual const char* name() const = 0;

  // Parks drafts (possibly none) on each sequence of `decoding`; all are running and decoding.
  // An error costs only the speedup: the engine then runs the step as plain decodes.
  virtual Status propose(std::span<Sequence* const> decoding, const ProposeContext& ctx) = 0;

  // After the step's verify of `seq`: num_granted drafts were verified (the scheduler may grant a
  // prefix of the proposal), num_accepted of them matched. Called once per verified sequence.
  virtual void observe(const Sequence& seq, int num_granted, int num_accepted) = 0;

  // The sequence finished, was aborted or preempted: drop any state kept for it.
  virtual void release(SeqId id) = 0;

  // A snapshot of the acceptance counters (thread-safe).
  virtual SpecStats stats() const = 0;
};

}  // namespace xy::spec
