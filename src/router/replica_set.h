// The replicas behind the router: their URLs, roles, health and load. Replicas come from the
// command line and/or a file (one "URL [role]" per line, '#' comments) that is re-read when it
// changes, so replicas come and go without a restart. Ids are never reused: a replica that is
// removed and added again is a new replica (its cache is assumed cold).
//
// Health: a replica that fails `evict_after_failures` consecutive checks (or requests) leaves
// the routable set; one successful health check re-admits it.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bench/openai_protocol.h"
#include "core/status.h"
#include "router/prefix_tree.h"

namespace xy::router {

// What an instance does in prefill/decode disaggregation; hybrid = both (a plain replica).
enum class ReplicaRole { kHybrid, kPrefill, kDecode };
const char* role_name(ReplicaRole role);
Result<ReplicaRole> parse_role(std::string_view text);

struct ReplicaSpec {
  std::string url;  // "http://host:port"
  ReplicaRole role = ReplicaRole::kHybrid;
  // False when the spec names no role: the replica's own report (`serve --role`, read from its
  // /metrics) decides, hybrid until known.
  bool role_given = false;
};
// "URL" or "URL role" (whitespace or ',' between); kInvalidArgument names the problem.
Result<ReplicaSpec> parse_replica_spec(std::string_view text);
// A replica file's lines; errors name the line number.
Result<std::vector<ReplicaSpec>> parse_replica_file(const std::string& text);

// Load as the replica's /metrics last reported it.
struct ReplicaLoad {
  std::optional<ReplicaRole> reported_role;  // xyserve:instance_role
  double running = 0, waiting = 0, kv_usage = 0;
  double prefix_queries = 0, prefix_hits = 0;  // cumulative, tokens
  double prompt_tokens = 0, generation_tokens = 0;
};

struct ReplicaSnapshot {
  ReplicaId id = 0;
  std::string url;
  ReplicaRole role = ReplicaRole::kHybrid;
  bool healthy = false;
  int in_flight = 0;  // requests the router has outstanding there
  int consecutive_failures = 0;
  uint64_t requests = 0, failures = 0;
  ReplicaLoad load;
};

class ReplicaSet {
 public:
  struct Options {
    int evict_after_failures = 2;
  };
  explicit ReplicaSet(Options options);

  // Makes the set equal to `specs` (by URL): new URLs are added (unhealthy until their first
  // health check passes, unless `assume_healthy`), missing ones removed, roles updated. Returns
  // the ids removed (the caller forgets them in its prefix tree).
  std::vector<ReplicaId> update(const std::vector<ReplicaSpec>& specs, bool assume_healthy);

  std::vector<ReplicaSnapshot> snapshot() const;
  std::optional<ReplicaSnapshot> get(ReplicaId id) const;
  // Routable replicas of a role (hybrid replicas serve every role).
  // A replica's role: its spec's, else what it reports, until the role controller moves it.
  std::vector<ReplicaSnapshot> routable(std::optional<ReplicaRole> role) const;

  // Bookkeeping from the request path and the health monitor. Unknown ids are ignored.
  void begin_request(ReplicaId id);
  // Returns -1 when this failure evicted the replica, else 0.
  int end_request(ReplicaId id, bool failed);
  // A health check result. Returns -1 when it evicted the replica, +1 when it re-admitted an
  // evicted one, +2 when a new replica passed its first check, 0 otherwise.
  int report_health(ReplicaId id, bool ok, const std::optional<ReplicaLoad>& load);
  void set_role(ReplicaId id, ReplicaRole role);

 private:
  struct Entry {
    ReplicaSnapshot s;
    bool was_evicted = false;
    bool role_pinned = false;  // given by the spec or set by set_role(): reports do not change it
  };
  Entry* find(ReplicaId id);
  const Entry* find(ReplicaId id) const;
  int note_failure(Entry& e);

  Options options_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // live ones only
  ReplicaId next_id_ = 0;
};

}  // namespace xy::router
