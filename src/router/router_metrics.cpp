#include "router/router_metrics.h"

namespace xy::router {

RouterMetrics::RouterMetrics() : reg_("") {
  prefix_queries_ = reg_.counter("xyserve_router:prefix_queries_total",
                                 "Requests routed with a prefix-affinity key.");
  prefix_hits_ = reg_.counter("xyserve_router:prefix_affinity_hits_total",
                              "Requests sent to the replica holding their prefix.");
  retries_ = reg_.counter("xyserve_router:retries_total",
                          "Requests re-sent to another replica before any output.");
  evictions_ = reg_.counter("xyserve_router:replica_evictions_total",
                            "Replicas taken out of routing after failed checks or requests.");
  readmissions_ = reg_.counter("xyserve_router:replica_readmissions_total",
                               "Evicted replicas routed to again after a passing health check.");
  pd_requests_ = reg_.counter("xyserve_router:disaggregated_requests_total",
                              "Requests prefilled on one instance and decoded on another.");
  pd_handoff_ = reg_.histogram("xyserve_router:pd_handoff_seconds",
                               "Prefill response to decode instance accepting the request.",
                               {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
  healthy_ = reg_.gauge("xyserve_router:healthy_replicas", "Replicas currently routable.");
}

void RouterMetrics::routed(const std::string& url, bool prefix_hit, bool had_key) {
  reg_.labeled_counter("xyserve_router:requests_total", "Requests sent, per replica.", "replica",
                       url)
      ->inc();
  if (had_key) prefix_queries_->inc();
  if (prefix_hit) prefix_hits_->inc();
}

void RouterMetrics::client_error(int status) {
  reg_.labeled_counter("xyserve_router:router_errors_total",
                       "Error responses produced by the router (no replica could answer).",
                       "status", std::to_string(status))
      ->inc();
}

void RouterMetrics::upstream_failed(const std::string& url) {
  reg_.labeled_counter("xyserve_router:upstream_failures_total",
                       "Connections to a replica that failed or broke.", "replica", url)
      ->inc();
}

void RouterMetrics::disaggregated(double handoff_s) {
  pd_requests_->inc();
  pd_handoff_->observe(handoff_s);
}

void RouterMetrics::role_switched(ReplicaRole to) {
  reg_.labeled_counter("xyserve_router:role_switches_total",
                       "Instances moved between prefill and decode by the role controller.", "to",
                       role_name(to))
      ->inc();
}

void RouterMetrics::observe(const std::vector<ReplicaSnapshot>& replicas) {
  int healthy = 0;
  for (const ReplicaSnapshot& r : replicas) {
    healthy += r.healthy;
    reg_.labeled_gauge("xyserve_router:replica_healthy", "1 when the replica is routable.",
                       "replica", r.url)
        ->set(r.healthy ? 1 : 0);
    reg_.labeled_gauge("xyserve_router:replica_in_flight",
                       "Requests the router has outstanding at the replica.", "replica", r.url)
        ->set(r.in_flight);
  }
  healthy_->set(healthy);
}

}  // namespace xy::router
