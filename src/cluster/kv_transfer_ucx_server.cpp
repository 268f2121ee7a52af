// The sending side of the UCX KV transport (ucx_kv_protocol.h): a listener on the KV transfer
// port, one endpoint per decode instance that connects, the export store's snapshots offered
// and sent layer by layer straight from their memory.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <map>

#include "cluster/kv_transfer_ucx.h"
#include "cluster/kv_wire.h"
#include "cluster/ucx_kv_protocol.h"
#include "cluster/ucx_worker.h"

namespace xy::cluster {

namespace {

using namespace ucx_kv;

// A receiver's message (PULL, SEND, CANCEL): a pull-number header, data small enough to come
// eagerly, and an endpoint to answer on. False for anything else, which is dropped.
bool control_message(const void* header, size_t header_length, const ucp_am_recv_param_t* param,
                     ucp_ep_h* ep, uint64_t* seq) {
  *ep = reply_ep(param);
  return *ep != nullptr && !(param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) &&
         parse_am_header(header, header_length, kPullHeaderBytes, seq);
}

class UcxKvServer final : public KvTransferServer {
 public:
  UcxKvServer(KvExportStore& store, std::string host, int port)
      : store_(store), host_(std::move(host)), port_(port) {}
  ~UcxKvServer() override { stop(); }

  Status start() override;
  void stop() override;
  int port() const override { return port_; }
  KvTransport transport() const override { return KvTransport::kUcx; }

 private:
  Status listen(const sockaddr_storage& addr, socklen_t len);  // on the worker thread
  // The layers of one snapshot in flight.
  struct Sending {
    std::shared_ptr<const KvSnapshot> snapshot;
    size_t remaining = 0;
    bool failed = false;  // a send failed or the receiver cancelled: counted once
  };
  // One decode instance's connection: the snapshots whose head it has been sent, and those
  // whose layers are on their way.
  struct Conn {
    std::map<uint64_t, std::shared_ptr<const KvSnapshot>> offered;
    std::map<uint64_t, std::shared_ptr<Sending>> sending;
  };

  static void on_connect(ucp_conn_request_h request, void* arg);
  static void on_endpoint_error(void* arg, ucp_ep_h ep, ucs_status_t status);
  static ucs_status_t on_pull(void* arg, const void* header, size_t header_length, void* data,
                              size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t on_send(void* arg, const void* header, size_t header_length, void* data,
                              size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t on_cancel(void* arg, const void* header, size_t header_length, void* data,
                                size_t length, const ucp_am_recv_param_t* param);
  void cancel_pull(ucp_ep_h ep, uint64_t seq);
  void fail_once(Sending& s);
  void answer_pull(ucp_ep_h ep, uint64_t seq, const std::string& request);
  void send_layers(ucp_ep_h ep, uint64_t seq);
  void drop_connection(ucp_ep_h ep);
  void on_tick();

  KvExportStore& store_;
  std::string host_;
  int port_;
  std::unique_ptr<UcxWorker> w_;
  ucp_listener_h listener_ = nullptr;
  std::map<ucp_ep_h, Conn> conns_;  // worker thread only
  int ticks_ = 0;
};

Status UcxKvServer::start() {
  socklen_t len = 0;
  auto addr = resolve(host_, port_, &len);
  if (!addr.is_ok()) return addr.status();
  auto w = UcxWorker::create([this] { on_tick(); }, kTick);
  if (!w.is_ok()) return w.status();
  w_ = std::move(*w);
  Status listening;
  w_->call([&] { listening = listen(*addr, len); });
  if (!listening.is_ok()) {
    w_->stop([] {}, [] { return true; });
    w_.reset();
  }
  return listening;
}

Status UcxKvServer::listen(const sockaddr_storage& addr, socklen_t len) {
  set_am_handler(w_->worker(), kAmPull, &UcxKvServer::on_pull, this);
  set_am_handler(w_->worker(), kAmSend, &UcxKvServer::on_send, this);
  set_am_handler(w_->worker(), kAmCancel, &UcxKvServer::on_cancel, this);
  ucp_listener_params_t lp{};
  lp.field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR | UCP_LISTENER_PARAM_FIELD_CONN_HANDLER;
  lp.sockaddr.addr = reinterpret_cast<const sockaddr*>(&addr);
  lp.sockaddr.addrlen = len;
  lp.conn_handler.cb = &UcxKvServer::on_connect;
  lp.conn_handler.arg = this;
  const ucs_status_t s = ucp_listener_create(w_->worker(), &lp, &listener_);
  if (s != UCS_OK) {
    listener_ = nullptr;
    return io_error("KV transfer port " + host_ + ":" + std::to_string(port_) +
                    " (UCX): " + ucx_status_text(s));
  }
  ucp_listener_attr_t attr{};
  attr.field_mask = UCP_LISTENER_ATTR_FIELD_SOCKADDR;
  if (ucp_listener_query(listener_, &attr) == UCS_OK) {
    const auto* sa = reinterpret_cast<const sockaddr*>(&attr.sockaddr);
    port_ = ntohs(sa->sa_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port
                                            : reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  }
  return Status::ok();
}

void UcxKvServer::stop() {
  if (!w_) return;
  w_->stop(
      [this] {
        if (listener_) ucp_listener_destroy(listener_);
        listener_ = nullptr;
        for (auto& [ep, conn] : conns_) w_->close_endpoint(ep, /*force=*/true);
        conns_.clear();
      },
      [this] { return w_->outstanding() == 0; });
  w_.reset();
}

void UcxKvServer::on_tick() {
  if (++ticks_ % 10 == 0) store_.expire();  // about once a second
}

void UcxKvServer::on_connect(ucp_conn_request_h request, void* arg) {
  auto* self = static_cast<UcxKvServer*>(arg);
  ucp_ep_params_t ep{};
  ep.field_mask = UCP_EP_PARAM_FIELD_CONN_REQUEST | UCP_EP_PARAM_FIELD_ERR_HANDLER |
                  UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
  ep.conn_request = request;
  ep.err_mode = UCP_ERR_HANDLING_MODE_PEER;
  ep.err_handler.cb = &UcxKvServer::on_endpoint_error;
  ep.err_handler.arg = self;
  ucp_ep_h h = nullptr;
  const ucs_status_t s = ucp_ep_create(self->w_->worker(), &ep, &h);
  if (s != UCS_OK) {
    spdlog::warn("KV transfer (UCX): cannot accept a connection: {}", ucx_status_text(s));
    return;
  }
  self->conns_[h];
}

void UcxKvServer::on_endpoint_error(void* arg, ucp_ep_h ep, ucs_status_t) {
  // The receiver went away (or closed an idle endpoint). Closing ours is left to the loop, not
  // done inside UCX's callback.
  auto* self = static_cast<UcxKvServer*>(arg);
  self->w_->post([self, ep] { self->drop_connection(ep); });
}

void UcxKvServer::drop_connection(ucp_ep_h ep) {
  auto it = conns_.find(ep);
  if (it == conns_.end()) return;
  // Offered but never asked for, or cut short: the receiver went away.
  counters_.failures.fetch_add(it->second.offered.size());
  for (auto& [seq, sending] : it->second.sending) fail_once(*sending);
  conns_.erase(it);
  w_->close_endpoint(ep, /*force=*/true);
}

ucs_status_t UcxKvServer::on_pull(void* arg, const void* header, size_t header_length, void* data,
                                  size_t length, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxKvServer*>(arg);
  uint64_t seq = 0;
  ucp_ep_h ep = nullptr;
  // A pull request is a few hundred bytes: anything longer is not ours.
  if (!control_message(header, header_length, param, &ep, &seq) ||
      length > kPullRequestHeaderBytes + kMaxTransferIdBytes)
    return UCS_OK;
  std::string request(static_cast<const char*>(data), length);
  self->w_->post(
      [self, ep, seq, request = std::move(request)] { self->answer_pull(ep, seq, request); });
  return UCS_OK;
}

void UcxKvServer::answer_pull(ucp_ep_h ep, uint64_t seq, const std::string& request) {
  auto conn = conns_.find(ep);
  if (conn == conns_.end()) return;  // gone meanwhile
  const Result<std::string> id = decode_pull_request(request);
  std::shared_ptr<const KvSnapshot> s;
  KvWireStatus status = KvWireStatus::kRefused;
  if (id.is_ok()) {
    s = store_.take(*id);
    status = s ? KvWireStatus::kOk : KvWireStatus::kUnknownId;
  }
  if (!s) counters_.failures.fetch_add(1);
  auto head = std::make_shared<std::string>(encode_response_head(status, s.get()));
  if (s) conn->second.offered[seq] = s;
  w_->send_am(ep, kAmHead, am_header(seq), head->data(), head->size(), 0, [head](ucs_status_t) {});
}

ucs_status_t UcxKvServer::on_send(void* arg, const void* header, size_t header_length, void*,
                                  size_t, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxKvServer*>(arg);
  uint64_t seq = 0;
  ucp_ep_h ep = nullptr;
  if (control_message(header, header_length, param, &ep, &seq))
    self->w_->post([self, ep, seq] { self->send_layers(ep, seq); });
  return UCS_OK;
}

void UcxKvServer::send_layers(ucp_ep_h ep, uint64_t seq) {
  auto conn = conns_.find(ep);
  if (conn == conns_.end()) return;
  auto offered = conn->second.offered.find(seq);
  if (offered == conn->second.offered.end()) return;
  auto sending = std::make_shared<Sending>();
  sending->snapshot = std::move(offered->second);
  conn->second.offered.erase(offered);
  sending->remaining = sending->snapshot->layers.size();
  conn->second.sending[seq] = sending;
  for (size_t l = 0; l < sending->snapshot->layers.size(); ++l) {
    const std::vector<uint8_t>& layer = sending->snapshot->layers[l];
    w_->send_am(ep, kAmLayer, am_layer_header(seq, uint32_t(l)), layer.data(), layer.size(), 0,
                [this, ep, seq, sending, n = layer.size()](ucs_status_t status) {
                  if (status == UCS_OK) {
                    counters_.bytes.fetch_add(n);
                  } else {
                    fail_once(*sending);
                  }
                  if (--sending->remaining > 0) return;
                  if (!sending->failed) counters_.transfers.fetch_add(1);
                  auto c = conns_.find(ep);
                  if (c != conns_.end()) c->second.sending.erase(seq);
                });
  }
}

void UcxKvServer::fail_once(Sending& s) {
  if (s.failed) return;
  s.failed = true;
  counters_.failures.fetch_add(1);
}

ucs_status_t UcxKvServer::on_cancel(void* arg, const void* header, size_t header_length, void*,
                                    size_t, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxKvServer*>(arg);
  uint64_t seq = 0;
  ucp_ep_h ep = nullptr;
  if (control_message(header, header_length, param, &ep, &seq))
    self->w_->post([self, ep, seq] { self->cancel_pull(ep, seq); });
  return UCS_OK;
}

void UcxKvServer::cancel_pull(ucp_ep_h ep, uint64_t seq) {
  auto conn = conns_.find(ep);
  if (conn == conns_.end()) return;
  // Offered: the snapshot goes now. Sending: the layers still on their way complete without
  // moving data (the receiver drops them), and the pull counts as failed.
  if (conn->second.offered.erase(seq) > 0) counters_.failures.fetch_add(1);
  auto sending = conn->second.sending.find(seq);
  if (sending != conn->second.sending.end()) fail_once(*sending->second);
}

}  // namespace

std::unique_ptr<KvTransferServer> make_ucx_kv_server(KvExportStore& store, std::string host,
                                                     int port) {
  return std::make_unique<UcxKvServer>(store, std::move(host), port);
}

}  // namespace xy::cluster
