#include "router/routing_policy.h"

#include <algorithm>

namespace xy::router {

Result<RoutingPolicyKind> parse_routing_policy(std::string_view name) {
  if (name == "round_robin") return RoutingPolicyKind::kRoundRobin;
  if (name == "least_load") return RoutingPolicyKind::kLeastLoad;
  if (name == "prefix_affinity" || name == "cache_aware") return RoutingPolicyKind::kPrefixAffinity;
  return invalid_argument("unknown routing policy '" + std::string(name) +
                          "' (expected round_robin, least_load or prefix_affinity)");
}

const char* routing_policy_name(RoutingPolicyKind kind) {
  switch (kind) {
    case RoutingPolicyKind::kRoundRobin:
      return "round_robin";
    case RoutingPolicyKind::kLeastLoad:
      return "least_load";
    case RoutingPolicyKind::kPrefixAffinity:
      break;
  }
  return "prefix_affinity";
}

RoutingPolicy::RoutingPolicy(RoutingOptions options)
    : options_(options), tree_(options.max_tree_bytes_per_replica) {}

namespace {

bool less_loaded(const ReplicaSnapshot& a, const ReplicaSnapshot& b) {
  if (a.in_flight != b.in_flight) return a.in_flight < b.in_flight;
  if (a.load.waiting != b.load.waiting) return a.load.waiting < b.load.waiting;
  return a.load.kv_usage < b.load.kv_usage;
}

}  // namespace

RoutingDecision RoutingPolicy::choose(std::string_view key, const std::vector<ReplicaSnapshot>& all,
                                      const std::vector<ReplicaId>& exclude) {
  std::vector<ReplicaSnapshot> candidates;
  for (const ReplicaSnapshot& r : all)
    if (std::find(exclude.begin(), exclude.end(), r.id) == exclude.end()) candidates.push_back(r);
  RoutingDecision d;
  if (candidates.empty()) return d;
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  // The least loaded; equally loaded replicas take turns (an idle cluster still spreads work).
  const auto min_it = std::min_element(candidates.begin(), candidates.end(), less_loaded);
  std::vector<const ReplicaSnapshot*> tied;
  for (const ReplicaSnapshot& r : candidates)
    if (!less_loaded(*min_it, r)) tied.push_back(&r);
  const ReplicaSnapshot* least =
      tied.size() == 1 ? tied[0] : tied[next_tie_.fetch_add(1) % tied.size()];
  switch (options_.kind) {
    case RoutingPolicyKind::kRoundRobin:
      d.replica = candidates[next_.fetch_add(1) % candidates.size()].id;
      return d;
    case RoutingPolicyKind::kLeastLoad:
      d.replica = least->id;
      return d;
    case RoutingPolicyKind::kPrefixAffinity:
      break;
  }
  const auto most =
      std::max_element(candidates.begin(), candidates.end(),
                       [](const auto& a, const auto& b) { return a.in_flight < b.in_flight; });
  const bool imbalanced = most->in_flight - least->in_flight > options_.balance_abs_threshold &&
                          most->in_flight > options_.balance_rel_threshold * least->in_flight;
  d.replica = least->id;
  if (!imbalanced && !key.empty()) {
    std::vector<ReplicaId> ids;
    for (const auto& r : candidates) ids.push_back(r.id);
    const PrefixMatch m = tree_.match(key, ids);
    d.matched_bytes = m.matched_bytes;
    if (m.replica >= 0 &&
        double(m.matched_bytes) >= options_.cache_threshold * double(key.size())) {
      d.replica = m.replica;
      d.prefix_hit = true;
    }
  }
  if (!key.empty()) tree_.insert(key, d.replica);
  return d;
}

}  // namespace xy::router
