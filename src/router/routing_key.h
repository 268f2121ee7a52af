// What the router reads from a generation request: the text its prompt starts with (the key
// for prefix affinity: a chat's messages in order, or a completion's prompt) and whether the
// client wants a stream. The body itself is forwarded untouched.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace xy::router {

struct RoutedRequest {
  std::string key;  // at most kMaxRoutingKeyBytes
  bool stream = false;
};

inline constexpr size_t kMaxRoutingKeyBytes = 64u << 10;

// kInvalidArgument when the body is not a JSON object (the router answers 400 itself; other
// validation is the replica's).
Result<RoutedRequest> read_routed_request(std::string_view body, bool chat);

}  // namespace xy::router
