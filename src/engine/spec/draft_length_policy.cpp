#include "engine/spec/draft_length_policy.h"

#include <algorithm>
#include <cmath>

namespace xy::spec {

double DraftLengthPolicy::expected_tokens(double a, int k) {
  // Sum of a^i for i = 0..k, written as a loop: exact at a = 1 and cheap for small k.
  double sum = 0.0, term = 1.0;
  for (int i = 0; i <= k; ++i) {
    sum += term;
    term *= a;
  }
  return sum;
}

double DraftLengthPolicy::goodput(double a, int k, int num_running) const {
  const double w = config_.step_fixed_cost_tokens;
  const double n = std::max(1, num_running);
  const double cost = w + n * (1 + k) + config_.draft_cost_ratio * k * (w + n);
  return expected_tokens(a, k) / cost;
}

double DraftLengthPolicy::prior() const {
  return (global_.successes + config_.prior_acceptance * config_.prior_weight) /
         (global_.trials + config_.prior_weight);
}

double DraftLengthPolicy::acceptance(SeqId id) const {
  const auto it = requests_.find(id);
  const Counts c = it == requests_.end() ? Counts{} : it->second;
  return (c.successes + prior() * config_.prior_weight) / (c.trials + config_.prior_weight);
}

int DraftLengthPolicy::choose(SeqId id, int max_k, int num_running, int budget) {
  if (max_k <= 0) return 0;
  const int n = std::max(1, num_running);
  int cap = max_k;
  if (budget > 0) cap = std::min(cap, budget / n - 1);
  if (cap <= 0) return 0;
  if (!config_.adaptive) return cap;
  const double a = acceptance(id);
  int best = 0;
  double best_goodput = goodput(a, 0, n);
  for (int k = 1; k <= cap; ++k) {
    const double g = goodput(a, k, n);
    if (g > best_goodput * (1.0 + 1e-9)) {
      best = k;
      best_goodput = g;
    }
  }
  Counts& c = requests_[id];
  if (best > 0) {
    c.idle_steps = 0;
    return best;
  }
  // No drafts, so no observations: let the prior come back slowly, and probe now and then.
  c.successes *= config_.idle_decay;
  c.trials *= config_.idle_decay;
  if (config_.probe_interval > 0 && ++c.idle_steps >= config_.probe_interval && could_pay(cap, n)) {
    c.idle_steps = 0;
    return 1;
  }
  return 0;
}

bool DraftLengthPolicy::could_pay(int cap, int num_running) const {
  const double plain = goodput(1.0, 0, num_running);
  for (int k = 1; k <= cap; ++k) {
    if (goodput(1.0, k, num_running) > plain * (1.0 + 1e-9)) return true;
  }
  return false;
}

void DraftLengthPolicy::observe(SeqId id, int num_granted, int num_accepted) {
  if (num_granted <= 0) return;
  const double trials = num_accepted + (num_accepted < num_granted ? 1 : 0);
  Counts& c = requests_[id];
  c.successes = c.successes * config_.observation_decay + num_accepted;
  c.trials = c.trials * config_.observation_decay + trials;
  global_.successes = global_.successes * config_.global_decay + num_accepted;
  global_.trials = global_.trials * config_.global_decay + trials;
}

}  // namespace xy::spec
