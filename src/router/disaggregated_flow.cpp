#include "router/disaggregated_flow.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "router/router_service.h"

namespace xy::router {

namespace asio = boost::asio;
using json = nlohmann::json;

asio::awaitable<void> serve_disaggregated(RelayContext ctx, std::shared_ptr<ClientLink> link,
                                          UpstreamRequest request, json body, std::string key) {
  // 1. Prefill: one token, the K/V kept for the decode instance.
  UpstreamRequest prefill = request;
  json pbody = body;
  pbody["kv_transfer_params"] = {{"do_remote_decode", true}};
  prefill.body = pbody.dump();
  OpenOutcome p = co_await open_call(ctx, *link, prefill, key, ReplicaRole::kPrefill);
  if (!p.open) {
    if (!link->gone()) link->sink().send(std::move(p.failure));
    co_return;
  }
  const OpenCall& pc = *p.open;
  ctx.replicas.end_request(pc.replica.id, false);
  if (pc.head.status != 200 || !pc.body) {
    // The prefill instance's own answer (a 400 for a bad request, ...) is the client's.
    server::HttpResponse r;
    r.status = pc.head.status;
    r.content_type = pc.head.content_type.empty() ? "application/json" : pc.head.content_type;
    r.body = pc.body ? *pc.body : std::string();
    if (!link->gone()) link->sink().send(std::move(r));
    co_return;
  }
  const json answer = json::parse(*pc.body, nullptr, false);
  if (!answer.is_object() || !answer.contains("kv_transfer_params") ||
      !answer["kv_transfer_params"].is_object()) {
    ctx.metrics.client_error(502);
    if (!link->gone())
      link->sink().send(router_error(502, "server_error",
                                     "prefill instance " + pc.replica.url +
                                         " did not return kv_transfer_params (not an xyserve "
                                         "instance, or too old)",
                                     "upstream_error"));
    co_return;
  }
  const auto handoff_start = std::chrono::steady_clock::now();
  // 2. Decode: the original request, continued from the prefill instance's K/V and token.
  UpstreamRequest decode = request;
  body["kv_transfer_params"] = answer["kv_transfer_params"];
  decode.body = body.dump();
  OpenOutcome d = co_await open_call(ctx, *link, decode, "", ReplicaRole::kDecode);
  if (!d.open) {
    if (!link->gone()) link->sink().send(std::move(d.failure));
    co_return;
  }
  ctx.metrics.disaggregated(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - handoff_start).count());
  co_await relay_response(ctx, *link, std::move(*d.open));
}

}  // namespace xy::router
