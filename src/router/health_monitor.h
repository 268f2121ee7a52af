// Keeps the replica set current: every interval it re-reads the replica file when it changed,
// asks each replica's /health (an answer other than 200 within the timeout is a failure) and
// reads its load from /metrics. Evictions and re-admissions are counted, and an evicted
// replica's prefixes are forgotten (it may come back with an empty cache).
// Runs as coroutines on the router's I/O context; start() once, stop() before the context ends.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "router/replica_set.h"
#include "router/router_metrics.h"
#include "router/routing_policy.h"

namespace xy::router {

struct HealthOptions {
  double interval_s = 2.0;
  double timeout_s = 2.0;
  std::string replica_file;  // "" = none; re-read when its modification time changes
  std::vector<ReplicaSpec> static_replicas;  // from the command line; always kept
};

class HealthMonitor {
 public:
  HealthMonitor(boost::asio::io_context& io, HealthOptions options, ReplicaSet& replicas,
                RoutingPolicy& policy, RouterMetrics& metrics);
  // Reads the replica file (if any) now; kInvalidArgument / kNotFound name the problem.
  Status load_file();
  void start();
  void stop();

 private:
  void schedule_round();
  void check(const ReplicaSnapshot& replica);
  void reload_if_changed();

  boost::asio::io_context& io_;
  HealthOptions options_;
  ReplicaSet& replicas_;
  RoutingPolicy& policy_;
  RouterMetrics& metrics_;
  boost::asio::steady_timer timer_;
  std::atomic<bool> stopped_{false};
  std::mutex checking_mu_;
  std::set<ReplicaId> checking_;  // replicas with a check in flight (no overlap)
  std::filesystem::file_time_type file_mtime_{};
};

}  // namespace xy::router
