// The router's Prometheus metrics (xyserve_router:*): requests per replica, prefix-affinity
// hits, retries, failures seen by clients, evictions and re-admissions, replica health and the
// router's outstanding requests per replica. Per-replica series are labelled by URL.
#pragma once

#include <string>

#include "router/replica_set.h"
#include "server/metrics_registry.h"

namespace xy::router {

class RouterMetrics {
 public:
  RouterMetrics();

  void routed(const std::string& replica_url, bool prefix_hit, bool had_key);
  void retried() { retries_->inc(); }
  void client_error(int status);  // a response the router itself produced (no replica's)
  void upstream_failed(const std::string& replica_url);
  void evicted() { evictions_->inc(); }
  void readmitted() { readmissions_->inc(); }
  void disaggregated(double kv_transfer_s);
  void role_switched(ReplicaRole to);
  // Gauges mirrored from the replica set before each scrape.
  void observe(const std::vector<ReplicaSnapshot>& replicas);
  std::string render() const { return reg_.render(); }

  double prefix_hits() const { return prefix_hits_->value(); }
  double prefix_queries() const { return prefix_queries_->value(); }

 private:
  server::MetricsRegistry reg_;
  server::Counter* prefix_queries_;
  server::Counter* prefix_hits_;
  server::Counter* retries_;
  server::Counter* evictions_;
  server::Counter* readmissions_;
  server::Counter* pd_requests_;
  server::Histogram* pd_handoff_;
  server::Gauge* healthy_;
};

}  // namespace xy::router
