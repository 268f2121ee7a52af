#include "router/router_service.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include "router/disaggregated_flow.h"
#include "router/relay.h"
#include "router/routing_key.h"
#include "server/bearer_auth.h"
#include "server/protocol/api_error.h"

namespace xy::router {

namespace asio = boost::asio;
using server::HttpRequest;
using server::HttpResponse;
using server::ResponseSink;

RouterService::RouterService(asio::io_context& io, RouterOptions options)
    : io_(io),
      options_(std::move(options)),
      replicas_(options_.replicas),
      policy_(options_.routing),
      health_(io, options_.health, replicas_, policy_, metrics_),
      roles_(io, options_.roles, replicas_, metrics_) {}

RouterService::~RouterService() {
  stop();
}

Status RouterService::start() {
  XY_RETURN_IF_ERROR(health_.load_file());
  if (replicas_.snapshot().empty())
    return invalid_argument("no replicas: give --replica URL or a --replica-file");
  health_.start();
  roles_.start();
  return Status::ok();
}

void RouterService::stop() {
  health_.stop();
  roles_.stop();
}

void RouterService::reply_error(ResponseSink& sink, int status, const std::string& type,
                                const std::string& message, const std::string& code) {
  metrics_.client_error(status);
  sink.send(router_error(status, type, message, code));
}

void RouterService::handle(HttpRequest req, std::shared_ptr<ResponseSink> sink) {
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  const std::string& path = req.target;
  const bool generation = path == "/v1/completions" || path == "/v1/chat/completions";
  const bool known = generation || path == "/v1/models" || path.rfind("/v1/models/", 0) == 0 ||
                     path == "/health" || path == "/metrics" || path == "/router/replicas";
  if (!known)
    return reply_error(*sink, 404, "invalid_request_error",
                       "no route for " + req.method + " " + path, "not_found");
  if ((generation && !post) || (!generation && !get)) {
    HttpResponse r =
        router_error(405, "invalid_request_error",
                     "method " + req.method + " not allowed for " + path, "method_not_allowed");
    r.headers.emplace_back("Allow", generation ? "POST" : "GET, HEAD");
    metrics_.client_error(405);
    return sink->send(std::move(r));
  }
  if (!options_.api_key.empty() && path.rfind("/v1/", 0) == 0) {
    if (!server::has_bearer_key(req, options_.api_key))
      return reply_error(*sink, 401, "authentication_error", "invalid or missing API key",
                         "invalid_api_key");
  }
  if (path == "/health") {
    const bool any = !replicas_.routable(std::nullopt).empty();
    HttpResponse r;
    r.status = any ? 200 : 503;
    r.body = any ? R"({"status":"ok"})" : R"({"status":"no healthy replica"})";
    return sink->send(std::move(r));
  }
  if (path == "/metrics") {
    metrics_.observe(replicas_.snapshot());
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.render();
    return sink->send(std::move(r));
  }
  if (path == "/router/replicas") {
    HttpResponse r;
    r.body = replicas_json();
    return sink->send(std::move(r));
  }
  if (!generation) {
    std::string target = path;
    if (!req.query.empty()) target += "?" + req.query;
    return forward_get(target, std::move(sink));
  }
  handle_generation(req, std::move(sink), path == "/v1/chat/completions");
}

void RouterService::handle_generation(const HttpRequest& req, std::shared_ptr<ResponseSink> sink,
                                      bool chat) {
  auto routed = read_routed_request(req.body, chat);
  if (!routed.is_ok())
    return reply_error(*sink, 400, "invalid_request_error", routed.status().message(),
                       "invalid_json");
  UpstreamRequest up;
  up.method = "POST";
  up.target = req.target;
  up.body = req.body;
  up.headers.emplace_back("Accept", routed->stream ? "text/event-stream" : "application/json");
  const std::string& auth =
      options_.replica_api_key.empty() ? req.header("authorization") : std::string();
  if (!options_.replica_api_key.empty()) {
    up.headers.emplace_back("Authorization", "Bearer " + options_.replica_api_key);
  } else if (!auth.empty()) {
    up.headers.emplace_back("Authorization", auth);
  }
  auto link = ClientLink::create(std::move(sink));
  RelayContext ctx{replicas_, policy_, metrics_, options_};
  // Prefill/decode disaggregation when both kinds of instance are up (hybrid ones count as
  // either); a request that cannot be split goes whole to a decode instance.
  std::optional<ReplicaRole> role;
  if (pd_active()) {
    if (routed->splittable) {
      asio::co_spawn(asio::make_strand(io_),
                     serve_disaggregated(ctx, link, std::move(up), std::move(routed->body),
                                         std::move(routed->key)),
                     asio::detached);
      return;
    }
    role = ReplicaRole::kDecode;
  }
  asio::co_spawn(asio::make_strand(io_),
                 route_and_relay(ctx, link, std::move(up), std::move(routed->key), role),
                 asio::detached);
}

bool RouterService::pd_active() const {
  bool prefill = false, decode = false;
  for (const ReplicaSnapshot& r : replicas_.routable(std::nullopt)) {
    prefill = prefill || r.role == ReplicaRole::kPrefill;
    decode = decode || r.role == ReplicaRole::kDecode;
  }
  return prefill && decode;
}

void RouterService::forward_get(const std::string& target, std::shared_ptr<ResponseSink> sink) {
  UpstreamRequest up;
  up.method = "GET";
  up.target = target;
  if (!options_.replica_api_key.empty())
    up.headers.emplace_back("Authorization", "Bearer " + options_.replica_api_key);
  auto link = ClientLink::create(std::move(sink));
  RelayContext ctx{replicas_, policy_, metrics_, options_};
  asio::co_spawn(asio::make_strand(io_),
                 route_and_relay(ctx, link, std::move(up), "", std::nullopt), asio::detached);
}

std::string RouterService::replicas_json() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const ReplicaSnapshot& r : replicas_.snapshot()) {
    out.push_back({{"id", r.id},
                   {"url", r.url},
                   {"role", role_name(r.role)},
                   {"healthy", r.healthy},
                   {"in_flight", r.in_flight},
                   {"requests", r.requests},
                   {"failures", r.failures},
                   {"running", r.load.running},
                   {"waiting", r.load.waiting},
                   {"kv_cache_usage", r.load.kv_usage},
                   {"prefix_cache_queries", r.load.prefix_queries},
                   {"prefix_cache_hits", r.load.prefix_hits},
                   {"routed_prefix_bytes", policy_.tree().tenant_bytes(r.id)}});
  }
  return nlohmann::ordered_json{{"policy", routing_policy_name(policy_.options().kind)},
                                {"replicas", out}}
      .dump();
}

}  // namespace xy::router
