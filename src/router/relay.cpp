#include "router/relay.h"

#include <spdlog/spdlog.h>

#include <boost/asio/this_coro.hpp>

#include "router/router_service.h"
#include "server/protocol/api_error.h"

namespace xy::router {

namespace asio = boost::asio;

std::shared_ptr<ClientLink> ClientLink::create(std::shared_ptr<server::ResponseSink> sink) {
  std::shared_ptr<ClientLink> link(new ClientLink(std::move(sink)));
  std::weak_ptr<ClientLink> weak = link;
  link->sink_->on_disconnect([weak] {
    if (auto l = weak.lock()) {
      std::shared_ptr<UpstreamCall> call;
      {
        std::lock_guard lock(l->mu_);
        l->gone_ = true;
        call = l->call_;
      }
      if (call) call->cancel();
    }
  });
  return link;
}

void ClientLink::attach(std::shared_ptr<UpstreamCall> call) {
  bool cancel_now = false;
  {
    std::lock_guard lock(mu_);
    call_ = call;
    cancel_now = gone_;
  }
  if (cancel_now && call) call->cancel();
}

bool ClientLink::gone() const {
  std::lock_guard lock(mu_);
  return gone_ || sink_->client_gone();
}

server::HttpResponse router_error(int status, const std::string& type, const std::string& message,
                                  const std::string& code) {
  server::HttpResponse r;
  r.status = status;
  r.body = server::ApiError{status, type, message, "", code}.to_json();
  return r;
}

namespace {

bool retryable_status(int status) {
  return status == 502 || status == 503 || status == 429;
}

// Ends a request that the replica failed: counted, and the replica is evicted when this was
// one failure too many (its prefixes are forgotten; a health check brings it back).
void end_failed(RelayContext& ctx, const ReplicaSnapshot& replica, const std::string& why) {
  ctx.metrics.upstream_failed(replica.url);
  if (ctx.replicas.end_request(replica.id, true) < 0) {
    ctx.metrics.evicted();
    ctx.policy.forget(replica.id);
    spdlog::warn("router: replica {} evicted ({})", replica.url, why);
  }
}

}  // namespace

asio::awaitable<OpenOutcome> open_call(RelayContext ctx, ClientLink& link,
                                       const UpstreamRequest& request, const std::string& key,
                                       std::optional<ReplicaRole> role) {
  auto ex = co_await asio::this_coro::executor;
  OpenOutcome out;
  std::vector<ReplicaId> tried;
  std::optional<server::HttpResponse> last_answer;  // a retryable answer, passed on if all fail
  std::string last_failure;
  for (int attempt = 0; attempt <= ctx.options.max_retries; ++attempt) {
    if (link.gone()) break;
    const RoutingDecision d = ctx.policy.choose(key, ctx.replicas.routable(role), tried);
    if (d.replica < 0) break;
    const std::optional<ReplicaSnapshot> replica = ctx.replicas.get(d.replica);
    if (!replica) continue;
    tried.push_back(replica->id);
    if (attempt > 0) ctx.metrics.retried();
    ctx.metrics.routed(replica->url, d.prefix_hit, !key.empty());
    auto url = bench::parse_url(replica->url);
    if (!url.is_ok()) continue;
    auto call = std::make_shared<UpstreamCall>(ex, *url, ctx.options.request_timeout_s);
    link.attach(call);
    ctx.replicas.begin_request(replica->id);
    auto head = co_await call->send(request);
    if (!head.is_ok()) {
      if (link.gone()) {
        ctx.replicas.end_request(replica->id, false);
        break;
      }
      last_failure = head.status().message();
      end_failed(ctx, *replica, last_failure);
      continue;
    }
    std::optional<std::string> whole;
    if (!head->event_stream() || head->status != 200) {
      auto body = co_await call->read_body(256u << 20);
      if (!body.is_ok()) {
        if (link.gone()) {
          ctx.replicas.end_request(replica->id, false);
          break;
        }
        last_failure = body.status().message();
        end_failed(ctx, *replica, last_failure);
        continue;
      }
      whole = std::move(*body);
    }
    if (retryable_status(head->status)) {
      server::HttpResponse r;
      r.status = head->status;
      r.content_type = head->content_type.empty() ? "application/json" : head->content_type;
      r.body = std::move(*whole);
      if (!head->retry_after.empty()) r.headers.emplace_back("Retry-After", head->retry_after);
      last_answer = std::move(r);
      ctx.replicas.end_request(replica->id, false);
      continue;
    }
    out.open = OpenCall{call, *head, *replica, std::move(whole)};
    co_return out;
  }
  if (last_answer) {
    out.failure = *last_answer;
  } else if (tried.empty()) {
    out.failure = router_error(503, "server_error", "no healthy replica to serve the request",
                               "no_healthy_replica");
  } else {
    out.failure =
        router_error(502, "server_error",
                     "no replica could serve the request (" + std::to_string(tried.size()) +
                         " tried; last: " + last_failure + ")",
                     "upstream_error");
  }
  ctx.metrics.client_error(out.failure.status);
  co_return out;
}

asio::awaitable<void> relay_response(RelayContext ctx, ClientLink& link, OpenCall open) {
  server::ResponseSink& sink = link.sink();
  std::string failure;
  if (open.head.status == 200 && open.head.event_stream()) {
    sink.start_stream();
    while (true) {
      auto events = co_await open.call->next_events();
      if (!events.is_ok()) {
        if (!link.gone()) {
          failure = events.status().message();
          sink.event(server::ApiError{502, "server_error",
                                      "replica failed mid-stream: " + events.status().message(), "",
                                      "upstream_error"}
                         .to_json());
        }
        break;
      }
      if (events->empty()) break;
      bool client_ok = true;
      for (const std::string& ev : *events) client_ok = client_ok && sink.event(ev);
      if (!client_ok) {
        open.call->cancel();
        break;
      }
    }
    sink.end_stream();
  } else {
    server::HttpResponse r;
    r.status = open.head.status;
    r.content_type = open.head.content_type.empty() ? "application/json" : open.head.content_type;
    r.body = open.body ? std::move(*open.body) : std::string();
    if (!open.head.retry_after.empty())
      r.headers.emplace_back("Retry-After", open.head.retry_after);
    sink.send(std::move(r));
  }
  if (failure.empty()) {
    ctx.replicas.end_request(open.replica.id, false);
  } else {
    end_failed(ctx, open.replica, failure);
  }
}

asio::awaitable<void> route_and_relay(RelayContext ctx, std::shared_ptr<ClientLink> link,
                                      UpstreamRequest request, std::string key,
                                      std::optional<ReplicaRole> role) {
  OpenOutcome o = co_await open_call(ctx, *link, request, key, role);
  if (!o.open) {
    if (!link->gone()) link->sink().send(std::move(o.failure));
    co_return;
  }
  co_await relay_response(ctx, *link, std::move(*o.open));
}

}  // namespace xy::router
