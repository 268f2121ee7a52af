// `xyserve router`: the OpenAI-compatible front door over N replicas (router/router_service.h).
// Replicas come from --replica (repeatable) and/or --replica-file, which is re-read when it
// changes. SIGTERM / SIGINT: stop accepting, let in-flight requests finish (bounded), exit.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "core/seconds.h"
#include "router/router_service.h"
#include "server/http_server.h"

namespace xy::cli {
namespace {

struct RouterArgs {
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 2;
  std::vector<std::string> replicas;
  std::string replica_file;
  std::string policy = "prefix_affinity";
  std::string api_key;
  std::string replica_api_key;
  int max_retries = 2;
  double request_timeout_s = 600;
  double health_interval_s = 2;
  double health_timeout_s = 2;
  int evict_after_failures = 2;
  double cache_threshold = 0.5;
  int balance_abs_threshold = 8;
  double balance_rel_threshold = 1.5;
  double shutdown_timeout_s = 30;
  router::RoleControlOptions roles;
};

int run_router(const RouterArgs& a) {
  router::RouterOptions o;
  o.api_key = a.api_key;
  if (o.api_key.empty())
    if (const char* env = std::getenv("XYSERVE_API_KEY")) o.api_key = env;
  o.replica_api_key = a.replica_api_key;
  o.max_retries = a.max_retries;
  o.request_timeout_s = a.request_timeout_s;
  o.health.interval_s = a.health_interval_s;
  o.health.timeout_s = a.health_timeout_s;
  o.health.replica_file = a.replica_file;
  o.replicas.evict_after_failures = a.evict_after_failures;
  o.roles = a.roles;
  auto policy = router::parse_routing_policy(a.policy);
  if (!policy.is_ok()) {
    std::fprintf(stderr, "xyserve router: %s\n", policy.status().message().c_str());
    return 2;
  }
  o.routing.kind = *policy;
  o.routing.cache_threshold = a.cache_threshold;
  o.routing.balance_abs_threshold = a.balance_abs_threshold;
  o.routing.balance_rel_threshold = a.balance_rel_threshold;
  for (const std::string& text : a.replicas) {
    auto spec = router::parse_replica_spec(text);
    if (!spec.is_ok()) {
      std::fprintf(stderr, "xyserve router: --replica %s: %s\n", text.c_str(),
                   spec.status().message().c_str());
      return 2;
    }
    o.health.static_replicas.push_back(*spec);
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<router::RouterService> service;
  server::HttpServerOptions ho;
  ho.host = a.host;
  ho.port = a.port;
  ho.io_threads = a.io_threads;
  server::HttpServer http(
      ho, [&service](server::HttpRequest r, std::shared_ptr<server::ResponseSink> sink) {
        service->handle(std::move(r), std::move(sink));
      });
  service = std::make_unique<router::RouterService>(http.io(), o);
  if (Status st = service->start(); !st.is_ok()) {
    std::fprintf(stderr, "xyserve router: %s\n", st.message().c_str());
    return 2;
  }
  if (Status st = http.listen(); !st.is_ok()) {
    std::fprintf(stderr, "xyserve router: %s\n", st.to_string().c_str());
    return 1;
  }
  http.start();
  // Tests and scripts read the port from this line (--port 0 picks a free one).
  spdlog::info("router listening on http://{}:{} ({} replicas, policy {})", a.host, http.port(),
               service->replicas().snapshot().size(), a.policy);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: draining", sig);
  http.stop_accepting();
  const auto deadline = std::chrono::steady_clock::now() + steady_seconds(a.shutdown_timeout_s);
  while (http.connections().active_exchanges.load() > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  service->stop();
  http.stop();
  service.reset();  // its timers belong to the server's I/O context: gone before it is
  spdlog::info("router shut down");
  return 0;
}

}  // namespace

CommandRunner add_router_command(CLI::App& app) {
  auto a = std::make_shared<RouterArgs>();
  CLI::App* cmd = app.add_subcommand(
      "router", "OpenAI-compatible router over xyserve replicas (prefix affinity, health checks)");
  cmd->add_option("--replica", a->replicas,
                  "Replica URL, optionally with a role: 'http://host:port [hybrid|prefill|decode]' "
                  "(repeatable)");
  cmd->add_option("--replica-file", a->replica_file,
                  "File of replicas, one 'URL [role]' per line; re-read when it changes");
  cmd->add_option("--host", a->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", a->port, "Port (0 = any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--io-threads", a->io_threads, "HTTP I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--policy", a->policy, "round_robin, least_load or prefix_affinity")
      ->capture_default_str();
  cmd->add_option("--api-key", a->api_key,
                  "Require 'Authorization: Bearer KEY' on /v1/* (or env XYSERVE_API_KEY)");
  cmd->add_option("--replica-api-key", a->replica_api_key,
                  "Key sent to the replicas (default: the client's Authorization is forwarded)");
  cmd->add_option("--max-retries", a->max_retries,
                  "Other replicas tried for a request before any output was sent")
      ->capture_default_str()
      ->check(CLI::Range(0, 16));
  cmd->add_option("--request-timeout", a->request_timeout_s,
                  "Seconds without progress from a replica before it counts as failed")
      ->capture_default_str();
  cmd->add_option("--health-interval", a->health_interval_s, "Seconds between health checks")
      ->capture_default_str();
  cmd->add_option("--health-timeout", a->health_timeout_s, "Seconds a health check may take")
      ->capture_default_str();
  cmd->add_option("--evict-after-failures", a->evict_after_failures,
                  "Consecutive failed checks that take a replica out of routing")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->add_option("--cache-threshold", a->cache_threshold,
                  "prefix_affinity: fraction of the prompt that must match a replica's prefixes")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--balance-abs-threshold", a->balance_abs_threshold,
                  "prefix_affinity: outstanding-request gap above which load decides")
      ->capture_default_str();
  cmd->add_option("--balance-rel-threshold", a->balance_rel_threshold,
                  "prefix_affinity: max/min outstanding ratio above which load decides")
      ->capture_default_str();
  cmd->add_option("--pd-rebalance-interval", a->roles.interval_s,
                  "Seconds between prefill/decode role checks (0 = roles stay as given)")
      ->capture_default_str();
  cmd->add_option("--pd-switch-ratio", a->roles.ratio,
                  "Move an instance when one side's pressure exceeds the other's by this factor")
      ->capture_default_str();
  cmd->add_option("--pd-decode-weight", a->roles.decode_weight,
                  "Concurrent decodes that weigh as much as one queued prefill")
      ->capture_default_str();
  cmd->add_option("--pd-switch-cooldown", a->roles.cooldown_s,
                  "Seconds after a role switch before the next one")
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", a->shutdown_timeout_s,
                  "Seconds in-flight requests may take to finish after SIGTERM")
      ->capture_default_str();
  return [a] { return run_router(*a); };
}

}  // namespace xy::cli
