// One generation request served by two instances: the router sends it with
// kv_transfer_params {"do_remote_decode": true} to a prefill instance (prefix affinity among
// them: the prompt's prefix cache lives there), which computes the prompt, samples the first
// token and answers with where its K/V can be pulled; then it sends the original request with
// those kv_transfer_params to a decode instance (least loaded), which pulls the K/V, streams
// every token including the first, and whose response goes to the client unchanged.
//
// Requests the split cannot serve exactly (n > 1, several prompts, logprobs, echo) go whole to
// a decode instance. A prefill instance's error (a 400, say) is the client's answer.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <string>

#include <nlohmann/json.hpp>

#include "router/relay.h"

namespace xy::router {

// `body` is request.body parsed (RoutedRequest::body); which requests can be split is
// RoutedRequest::splittable.
boost::asio::awaitable<void> serve_disaggregated(RelayContext ctx, std::shared_ptr<ClientLink> link,
                                                 UpstreamRequest request, nlohmann::json body,
                                                 std::string key);

}  // namespace xy::router
