// What both ends of the UCX KV transport (kv_transfer_ucx_server.cpp, kv_transfer_ucx_client.cpp)
// agree on. UCX picks the path: RDMA where the network has it (a large layer goes by zero-copy
// rendezvous, which the receiver completes with an RDMA read straight into its buffer), shared
// memory between processes of one host, TCP otherwise. Connections are made by IP address and
// port (UCX's sockaddr connection manager) and kept: a decode instance has one endpoint per
// prefill instance, shared by its pulls.
//
// The exchange, each message an active message whose header names the pull (a number chosen
// by the receiver, unique on its endpoint) and whose data is kv_wire bytes:
//   decode -> prefill  PULL    data: the pull request (transfer id)
//   prefill -> decode  HEAD    data: the response head and token ids; the entry is now taken
//   decode -> prefill  SEND    only when the receiver accepts the layout and length
//   prefill -> decode  LAYER   header also carries the layer index; data: the layer's bytes
//   decode -> prefill  CANCEL  the receiver refused, gave up or was cancelled: drop the pull
// Layers may land in any order; each is checked against the head before a byte of it is
// written. An endpoint that fails (a peer gone) fails every pull on it; the sender then drops
// what it held for them.
//
// Built only with libucx-dev (XYSERVE_HAVE_UCX).
#pragma once

#include <netdb.h>
#include <sys/socket.h>
#include <ucp/api/ucp.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace xy::cluster::ucx_kv {

enum AmId : unsigned { kAmPull = 1, kAmHead = 2, kAmSend = 3, kAmLayer = 4, kAmCancel = 5 };

// How often each side's loop looks at timeouts and expiry.
inline constexpr auto kTick = std::chrono::milliseconds(100);

// Active-message headers: little-endian u64 pull number, then (LAYER) u32 layer index.
inline constexpr size_t kPullHeaderBytes = 8;
inline constexpr size_t kLayerHeaderBytes = 12;
std::string am_header(uint64_t seq);
std::string am_layer_header(uint64_t seq, uint32_t layer);
// False unless the header has exactly `want` bytes (kPullHeaderBytes or kLayerHeaderBytes).
bool parse_am_header(const void* header, size_t length, size_t want, uint64_t* seq,
                     uint32_t* layer = nullptr);

Result<sockaddr_storage> resolve(const std::string& host, int port, socklen_t* len);
// Whole messages only (UCP_AM_FLAG_WHOLE_MSG).
void set_am_handler(ucp_worker_h worker, unsigned id, ucp_am_recv_callback_t cb, void* arg);
// The endpoint a message can be answered on (sent with UCP_AM_SEND_FLAG_REPLY), or null.
ucp_ep_h reply_ep(const ucp_am_recv_param_t* param);

}  // namespace xy::cluster::ucx_kv
