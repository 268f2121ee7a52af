// What the router reads from a generation request: the text its prompt starts with (the key
// for prefix affinity: a chat's messages in order, or a completion's prompt), whether the
// client wants a stream, and whether prefill/decode disaggregation can split it. The body
// itself is forwarded untouched.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace xy::router {

struct RoutedRequest {
  std::string key;  // at most kMaxRoutingKeyBytes
  bool stream = false;
  // Prefill/decode can split it exactly: one prompt, n = 1, no logprobs or echo, and no
  // kv_transfer_params of the client's own.
  bool splittable = false;
  nlohmann::json body;  // parsed once; the disaggregated flow edits a copy
};

inline constexpr size_t kMaxRoutingKeyBytes = 64u << 10;

// kInvalidArgument when the body is not a JSON object (the router answers 400 itself; other
// validation is the replica's).
Result<RoutedRequest> read_routed_request(std::string_view body, bool chat);

}  // namespace xy::router
