// Role switching for prefill/decode disaggregation (XY-Serve moves instances between roles as
// the load shifts): every interval it compares the pressure on the prefill instances with that
// on the decode instances and, when one side is overloaded relative to the other, moves the
// least busy instance of the other side over. Instances serve both kinds of work, so a switch
// only changes where new requests go: what the instance is running finishes there, nothing is
// dropped or moved.
//
//   pressure(role) = mean over its instances of (router's outstanding requests + the instance's
//                    waiting requests), decode divided by decode_weight (a decode step batches
//                    many streams; a prefill instance's queue is the expensive kind of work)
//   switch one instance to prefill when prefill pressure > ratio x max(decode pressure, 1)
//   and decode keeps at least one instance; and the mirror rule; then a cooldown.
//
// Runs on the router's I/O context. Hybrid replicas are never switched.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "router/replica_set.h"
#include "router/router_metrics.h"

namespace xy::router {

struct RoleControlOptions {
  double interval_s = 0;  // 0 = roles stay as configured
  double ratio = 4.0;
  double decode_weight = 8.0;
  double cooldown_s = 10.0;
};

// One decision over a snapshot (pure; tested directly). Returns the replica to move and its new
// role, or id -1.
struct RoleSwitch {
  ReplicaId replica = -1;
  ReplicaRole to = ReplicaRole::kHybrid;
};
RoleSwitch decide_role_switch(const std::vector<ReplicaSnapshot>& replicas,
                              const RoleControlOptions& options);

class RoleController {
 public:
  RoleController(boost::asio::io_context& io, RoleControlOptions options, ReplicaSet& replicas,
                 RouterMetrics& metrics);
  void start();
  void stop();

 private:
  void schedule();

  RoleControlOptions options_;
  ReplicaSet& replicas_;
  RouterMetrics& metrics_;
  boost::asio::steady_timer timer_;
  std::atomic<bool> stopped_{false};
  std::chrono::steady_clock::time_point last_switch_{};
};

}  // namespace xy::router
