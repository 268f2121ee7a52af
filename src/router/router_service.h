// xyserve router: an OpenAI-compatible front door over N replicas (`xyserve serve` instances,
// or any server with the same API and /health + /metrics).
//
//   POST /v1/completions, /v1/chat/completions   routed to one replica (RoutingPolicy); the
//                                                replica's JSON or SSE is passed through as it
//                                                arrives. No output yet + replica failed (or
//                                                answered 502/503/429): another replica is
//                                                tried. Failed mid-stream: an error event ends
//                                                the stream. Client gone: the replica's
//                                                connection is closed, which aborts the request.
//   GET  /v1/models                              from a healthy replica
//   GET  /health                                 200 while a replica is routable, else 503
//   GET  /metrics                                xyserve_router:* (Prometheus)
//   GET  /router/replicas                        the replica table as JSON
//
// With routable prefill-role and decode-role replicas, requests are disaggregated
// (router/disaggregated_flow.h). Threads: handle() runs on the HTTP server's I/O threads and never
// blocks; requests proceed as coroutines on the same I/O context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "router/health_monitor.h"
#include "router/replica_set.h"
#include "router/role_controller.h"
#include "router/router_metrics.h"
#include "router/routing_policy.h"
#include "router/upstream_call.h"
#include "server/http_exchange.h"

namespace xy::router {

struct RouterOptions {
  std::string api_key;             // clients must send it (Bearer) on /v1/*; "" = open
  std::string replica_api_key;     // sent to replicas; "" = forward the client's Authorization
  int max_retries = 2;             // other replicas tried before any output was sent
  double request_timeout_s = 600;  // no progress from a replica for this long = failure
  RoutingOptions routing;
  HealthOptions health;
  RoleControlOptions roles;
  ReplicaSet::Options replicas;
};

class RouterService {
 public:
  RouterService(boost::asio::io_context& io, RouterOptions options);
  ~RouterService();

  // Loads the replica list (command line + file) and starts health checks.
  Status start();
  void stop();

  void handle(server::HttpRequest request, std::shared_ptr<server::ResponseSink> sink);

  ReplicaSet& replicas() { return replicas_; }
  RouterMetrics& metrics() { return metrics_; }

 private:
  void handle_generation(const server::HttpRequest& req, std::shared_ptr<server::ResponseSink> sink,
                         bool chat);
  void forward_get(const std::string& target, std::shared_ptr<server::ResponseSink> sink);
  void reply_error(server::ResponseSink& sink, int status, const std::string& type,
                   const std::string& message, const std::string& code);
  std::string replicas_json() const;
  // Both a prefill-role and a decode-role replica are routable.
  bool pd_active() const;

  boost::asio::io_context& io_;
  RouterOptions options_;
  ReplicaSet replicas_;
  RoutingPolicy policy_;
  RouterMetrics metrics_;
  HealthMonitor health_;
  RoleController roles_;
};

}  // namespace xy::router
