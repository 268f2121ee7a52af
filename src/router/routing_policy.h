// Which replica gets a request. Three policies:
//   round_robin      replicas in turn
//   least_load       fewest requests outstanding from this router (ties: fewest waiting in the
//                    replica's last /metrics, then lowest KV usage; then in turn)
//   prefix_affinity  the replica holding the longest routed prefix of the request's routing
//                    key when at least `cache_threshold` of the key matches, unless the load is
//                    imbalanced (max - min outstanding > balance_abs_threshold and max >
//                    balance_rel_threshold * min), in which case least_load decides; a request
//                    whose prefix nobody holds goes to the least loaded replica (SGLang's
//                    cache-aware policy, with our load measure).
// Thread-safe.
#pragma once

#include <atomic>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "router/prefix_tree.h"
#include "router/replica_set.h"

namespace xy::router {

enum class RoutingPolicyKind { kRoundRobin, kLeastLoad, kPrefixAffinity };
Result<RoutingPolicyKind> parse_routing_policy(std::string_view name);
const char* routing_policy_name(RoutingPolicyKind kind);

struct RoutingOptions {
  RoutingPolicyKind kind = RoutingPolicyKind::kPrefixAffinity;
  double cache_threshold = 0.5;
  int balance_abs_threshold = 8;
  double balance_rel_threshold = 1.5;
  size_t max_tree_bytes_per_replica = 8u << 20;
};

struct RoutingDecision {
  ReplicaId replica = -1;   // -1: no candidate
  bool prefix_hit = false;  // chosen because it holds the key's prefix
  size_t matched_bytes = 0;
};

class RoutingPolicy {
 public:
  explicit RoutingPolicy(RoutingOptions options);

  // Picks among `candidates` (must be non-empty for a decision) and records the key under the
  // chosen replica. `exclude` lists replicas already tried for this request.
  RoutingDecision choose(std::string_view key, const std::vector<ReplicaSnapshot>& candidates,
                         const std::vector<ReplicaId>& exclude = {});
  void forget(ReplicaId replica) { tree_.remove_tenant(replica); }
  const RoutingOptions& options() const { return options_; }
  const PrefixTree& tree() const { return tree_; }

 private:
  RoutingOptions options_;
  PrefixTree tree_;
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> next_tie_{0};
};

}  // namespace xy::router
