// Load-adaptive draft length: how many draft tokens a request should get this step (0..max), from
// its running acceptance rate and the load of the step, so that speculation never lowers
// throughput. k = 0 makes the request an exact plain decode.
//
// The model (goodput per unit of step cost):
//   * acceptance: each draft position is accepted with probability a (the request's running
//     estimate), independently, until the first rejection; a verify of k drafts then emits
//     E(a, k) = 1 + a + a^2 + ... + a^k = (1 - a^(k+1)) / (1 - a) tokens (the +1 is the token a
//     plain decode emits anyway).
//   * cost: a step of T rows costs W + T token-equivalents, W (step_fixed_cost_tokens) being the
//     part of a step that does not grow with its rows (streaming the weights, launching work);
//     with every one of the n running requests drafting k, T = n (1 + k). A draft model adds k
//     draft steps over the n requests, each r (draft_cost_ratio, draft/target cost) times a
//     target step: r k (W + n).
//   * choice: k maximizing E(a, k) / (W + n (1 + k) + r k (W + n)) over 0..max, ties to the
//     smaller k, with n (1 + k) within the token budget. Under light load (n << W) the fixed
//     cost dominates and drafts are nearly free, so k grows with a; under heavy load (n >> W) the
//     step is compute-bound, E(a, k) / (1 + k) < 1 for any a < 1, and k drops to 0.
//   * estimate of a: an exponentially weighted count of accepted drafts over trials (each
//     accepted draft is a success, a rejection one failure), shrunk towards a prior: the
//     proposer's acceptance over all requests (itself shrunk towards prior_acceptance), so a new
//     request starts from what this proposer achieves on this traffic. While a request gets no
//     drafts its counts decay each step, so the prior returns.
//   * probes: a request that got no drafts for probe_interval steps in a row drafts one token
//     once, so an estimate that only the load keeps at 0 can still learn that drafting pays
//     (worst case one extra verify row per request every probe_interval steps). No probe where
//     even perfect acceptance would not pay at this load: it could not change the choice, and a
//     draft model's probe is dear (the draft first catches up on every token since its last
//     draft; on the shipped 8.7 M / 2.4 M pair at 16 concurrent such probes cost 13%).
//
// Thread: engine thread (one policy per proposer).
#pragma once

#include <unordered_map>

#include "engine/request.h"

namespace xy::spec {

struct DraftLengthConfig {
  bool adaptive = true;                 // false: always the maximum the budget allows
  double step_fixed_cost_tokens = 4.0;  // W, see above (CPU: weights stream ~ a few rows)
  double draft_cost_ratio = 0.0;        // r: 0 for model-free proposers
  double prior_acceptance = 0.5;        // a before any observation
  double prior_weight = 1.0;            // pseudo-trials of the prior
  double observation_decay = 0.8;       // weight of past counts at each observation
  double idle_decay = 0.9;              // per step without drafts
  double global_decay = 0.99;           // weight of past counts of the proposer-wide estimate
  int probe_interval = 32;              // steps without drafts before a 1-token probe; 0 = never
};

class DraftLengthPolicy {
 public:
  explicit DraftLengthPolicy(const DraftLengthConfig& config = {}) : config_(config) {}

  // Draft length for `id` this step; max_k = --num-speculative-tokens, num_running = n,
  // budget = the step's token budget (0 = unknown: no cap).
  int choose(SeqId id, int max_k, int num_running, int budget);
  void observe(SeqId id, int num_granted, int num_accepted);
  void release(SeqId id) { requests_.erase(id); }

  double acceptance(SeqId id) const;  // current estimate of a

  // E(a, k) and the goodput of the model above (exposed for tests and documentation).
  static double expected_tokens(double a, int k);
  double goodput(double a, int k, int num_running) const;
  const DraftLengthConfig& config() const { return config_; }

 private:
  struct Counts {
    double successes = 0.0;
    double trials = 0.0;
    int idle_steps = 0;  // consecutive choose() calls that returned 0
  };
  double prior() const;  // proposer-wide acceptance, shrunk towards prior_acceptance
  // Whether some k in 1..cap beats plain decoding at num_running with acceptance 1.
  bool could_pay(int cap, int num_running) const;

  DraftLengthConfig config_;
  std::unordered_map<SeqId, Counts> requests_;
  Counts global_;
};

}  // namespace xy::spec
