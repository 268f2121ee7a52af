// Moving one request through a replica: pick it (RoutingPolicy), send, retry elsewhere while
// nothing has reached the client, then pass the response through (whole, or event by event)
// and keep the replica set's bookkeeping. Shared by plain routing and the disaggregated flow.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "router/replica_set.h"
#include "router/router_metrics.h"
#include "router/routing_policy.h"
#include "router/upstream_call.h"
#include "server/http_exchange.h"

namespace xy::router {

struct RouterOptions;

// The client's side of a routed request: its response sink and the replica call to cancel
// when the client goes away. Thread-safe.
class ClientLink : public std::enable_shared_from_this<ClientLink> {
 public:
  static std::shared_ptr<ClientLink> create(std::shared_ptr<server::ResponseSink> sink);
  // The call now serving the client; cancelled at once when the client is already gone.
  void attach(std::shared_ptr<UpstreamCall> call);
  bool gone() const;
  server::ResponseSink& sink() { return *sink_; }

 private:
  explicit ClientLink(std::shared_ptr<server::ResponseSink> sink) : sink_(std::move(sink)) {}
  std::shared_ptr<server::ResponseSink> sink_;
  mutable std::mutex mu_;
  std::shared_ptr<UpstreamCall> call_;
  bool gone_ = false;
};

struct RelayContext {
  ReplicaSet& replicas;
  RoutingPolicy& policy;
  RouterMetrics& metrics;
  const RouterOptions& options;
};

// A replica that answered with a response head worth passing on.
struct OpenCall {
  std::shared_ptr<UpstreamCall> call;
  UpstreamHead head;
  ReplicaSnapshot replica;
  std::optional<std::string> body;  // the whole body, for responses that are not event streams
};

// Either an open call, or the response the client gets because none could be opened.
struct OpenOutcome {
  std::optional<OpenCall> open;
  server::HttpResponse failure;
};

// Sends `request` to a replica of `role` (nullopt = any) chosen by the policy for `key`,
// retrying other replicas on transport failures and 502/503/429 answers. A body that is not an
// event stream is read whole here, so a replica failing before it is complete is retried too.
boost::asio::awaitable<OpenOutcome> open_call(RelayContext ctx, ClientLink& link,
                                              const UpstreamRequest& request,
                                              const std::string& key,
                                              std::optional<ReplicaRole> role);

// Passes an open call's response to the client (SSE event by event, or whole) and ends the
// replica's bookkeeping. A replica failing mid-stream ends the stream with an error event.
boost::asio::awaitable<void> relay_response(RelayContext ctx, ClientLink& link, OpenCall open);

// open_call, then relay_response; or the failure when no replica answered.
boost::asio::awaitable<void> route_and_relay(RelayContext ctx, std::shared_ptr<ClientLink> link,
                                             UpstreamRequest request, std::string key,
                                             std::optional<ReplicaRole> role);

// {"error": ...} bodies the router itself produces.
server::HttpResponse router_error(int status, const std::string& type, const std::string& message,
                                  const std::string& code);

}  // namespace xy::router
