#include "cluster/ucx_kv_protocol.h"

#include <cstring>

namespace xy::cluster::ucx_kv {

std::string am_header(uint64_t seq) {
  std::string h(kPullHeaderBytes, '\0');
  for (int i = 0; i < 8; ++i) h[size_t(i)] = char((seq >> (8 * i)) & 0xff);
  return h;
}

std::string am_layer_header(uint64_t seq, uint32_t layer) {
  std::string h = am_header(seq);
  for (int i = 0; i < 4; ++i) h += char((layer >> (8 * i)) & 0xff);
  return h;
}

bool parse_am_header(const void* header, size_t length, size_t want, uint64_t* seq,
                     uint32_t* layer) {
  if (length != want) return false;
  const auto* b = static_cast<const unsigned char*>(header);
  *seq = 0;
  for (int i = 0; i < 8; ++i) *seq |= uint64_t(b[i]) << (8 * i);
  if (layer) {
    *layer = 0;
    for (int i = 0; i < 4; ++i) *layer |= uint32_t(b[8 + i]) << (8 * i);
  }
  return true;
}

Result<sockaddr_storage> resolve(const std::string& host, int port, socklen_t* len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr)
    return io_error("KV transfer host '" + host + "': " + gai_strerror(rc));
  sockaddr_storage out{};
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return out;
}

void set_am_handler(ucp_worker_h worker, unsigned id, ucp_am_recv_callback_t cb, void* arg) {
  ucp_am_handler_param_t p{};
  p.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB |
                 UCP_AM_HANDLER_PARAM_FIELD_ARG | UCP_AM_HANDLER_PARAM_FIELD_FLAGS;
  p.id = id;
  p.cb = cb;
  p.arg = arg;
  p.flags = UCP_AM_FLAG_WHOLE_MSG;
  ucp_worker_set_am_recv_handler(worker, &p);
}

ucp_ep_h reply_ep(const ucp_am_recv_param_t* param) {
  return (param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) ? param->reply_ep : nullptr;
}

}  // namespace xy::cluster::ucx_kv
