// The UCX transport of the KV transfer (kv_transfer.h), on UCP active messages. UCX picks the
// path: RDMA where the network has it (a large layer goes by zero-copy rendezvous, which the
// receiver completes with an RDMA read straight into its buffer), shared memory between
// processes of one host, TCP otherwise. Connections are made by IP address and port
// (UCX's sockaddr connection manager), one per pull, as with the TCP transport.
//
// The exchange, each message an active message whose header names the pull (a sequence number
// chosen by the receiver) and whose data is kv_wire bytes:
//   decode -> prefill  PULL   data: the pull request (transfer id)
//   prefill -> decode  HEAD   data: the response head and token ids; the entry is now taken
//   decode -> prefill  SEND   (only when the receiver accepts the layout and length)
//   prefill -> decode  LAYER  header also carries the layer index; data: the layer's bytes
// A receiver that refuses, cancels or times out closes the endpoint; the sender then drops the
// snapshot. Layers may complete in any order; each is checked against the head before a byte
// of it is written.
#include "cluster/kv_transfer_ucx.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <map>

#include "cluster/kv_wire.h"
#include "cluster/ucx_worker.h"

namespace xy::cluster {

namespace {

enum AmId : unsigned { kAmPull = 1, kAmHead = 2, kAmSend = 3, kAmLayer = 4 };

using Clock = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::milliseconds(100);

// Active-message headers: little-endian u64 pull number, then (LAYER) u32 layer index.
std::string am_header(uint64_t seq, uint32_t layer = 0, bool with_layer = false) {
  std::string h(with_layer ? 12 : 8, '\0');
  for (int i = 0; i < 8; ++i) h[size_t(i)] = char((seq >> (8 * i)) & 0xff);
  if (with_layer)
    for (int i = 0; i < 4; ++i) h[size_t(8 + i)] = char((layer >> (8 * i)) & 0xff);
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

// ------------------------------------------------------------------------------------------
// Sender (prefill side).

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
  // One decode instance's connection, and the snapshots whose head it has been sent.
  struct Conn {
    std::map<uint64_t, std::shared_ptr<const KvSnapshot>> offered;
  };
  // The layers of one snapshot in flight.
  struct Sending {
    std::shared_ptr<const KvSnapshot> snapshot;
    size_t remaining = 0;
    bool failed = false;
  };

  static void on_connect(ucp_conn_request_h request, void* arg);
  static void on_endpoint_error(void* arg, ucp_ep_h ep, ucs_status_t status);
  static ucs_status_t on_pull(void* arg, const void* header, size_t header_length, void* data,
                              size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t on_send(void* arg, const void* header, size_t header_length, void* data,
                              size_t length, const ucp_am_recv_param_t* param);
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
  // Also how a finished pull ends: the receiver closes its side. Closing ours is left to the
  // loop (not from inside UCX's callback).
  auto* self = static_cast<UcxKvServer*>(arg);
  self->w_->post([self, ep] { self->drop_connection(ep); });
}

void UcxKvServer::drop_connection(ucp_ep_h ep) {
  auto it = conns_.find(ep);
  if (it == conns_.end()) return;
  // Offered but never asked for: the receiver refused or went away.
  counters_.failures.fetch_add(it->second.offered.size());
  conns_.erase(it);
  w_->close_endpoint(ep, /*force=*/true);
}

ucs_status_t UcxKvServer::on_pull(void* arg, const void* header, size_t header_length, void* data,
                                  size_t length, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxKvServer*>(arg);
  uint64_t seq = 0;
  ucp_ep_h ep = reply_ep(param);
  // A pull request is a few hundred bytes: anything else (or a rendezvous) is not ours.
  if (!ep || (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) ||
      !parse_am_header(header, header_length, 8, &seq, nullptr) ||
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
  ucp_ep_h ep = reply_ep(param);
  if (!ep || (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) ||
      !parse_am_header(header, header_length, 8, &seq, nullptr))
    return UCS_OK;
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
  for (size_t l = 0; l < sending->snapshot->layers.size(); ++l) {
    const std::vector<uint8_t>& layer = sending->snapshot->layers[l];
    w_->send_am(ep, kAmLayer, am_header(seq, uint32_t(l), true), layer.data(), layer.size(), 0,
                [this, sending, n = layer.size()](ucs_status_t status) {
                  if (status == UCS_OK) {
                    counters_.bytes.fetch_add(n);
                  } else if (!sending->failed) {
                    // The receiver went away (aborted): what it held goes with this state.
                    sending->failed = true;
                    counters_.failures.fetch_add(1);
                  }
                  if (--sending->remaining == 0 && !sending->failed)
                    counters_.transfers.fetch_add(1);
                });
  }
}

// ------------------------------------------------------------------------------------------
// Receiver (decode side).

class UcxKvClient;

class UcxPull final : public KvPull {
 public:
  UcxPull(UcxKvClient* client, uint64_t seq, KvPullRequest req,
          std::function<void(Result<KvSnapshot>)> done)
      : client_(client), seq_(seq), req_(std::move(req)), done_(std::move(done)) {}
  void cancel() override;

 private:
  friend class UcxKvClient;
  UcxKvClient* client_;
  const uint64_t seq_;
  KvPullRequest req_;
  std::function<void(Result<KvSnapshot>)> done_;
  ucp_ep_h ep_ = nullptr;
  bool head_seen_ = false;
  KvSnapshot snapshot_;
  std::vector<bool> layer_started_;
  size_t layers_done_ = 0;
  Clock::time_point last_progress_ = Clock::now();
};

class UcxKvClient final : public KvTransferClient {
 public:
  // Made by make_ucx_kv_client, which starts the worker.
  UcxKvClient() = default;
  Status start() {
    auto w = UcxWorker::create([this] { expire_stalled(); }, kTick);
    if (!w.is_ok()) return w.status();
    w_ = std::move(*w);
    w_->call([this] {
      set_am_handler(w_->worker(), kAmHead, &UcxKvClient::on_head, this);
      set_am_handler(w_->worker(), kAmLayer, &UcxKvClient::on_layer, this);
    });
    return Status::ok();
  }
  ~UcxKvClient() override {
    if (!w_) return;
    w_->stop(
        [this] {
          for (auto& [seq, p] : pulls_)
            if (p->ep_) w_->close_endpoint(p->ep_, /*force=*/true);
          pulls_.clear();
        },
        [this] { return w_->outstanding() == 0; });
  }

  std::shared_ptr<KvPull> pull(KvPullRequest request,
                               std::function<void(Result<KvSnapshot>)> done) override {
    auto p = std::make_shared<UcxPull>(this, next_seq_.fetch_add(1), std::move(request),
                                       std::move(done));
    w_->post([this, p] { begin(p); });
    return p;
  }
  KvTransport transport() const override { return KvTransport::kUcx; }

  void cancel(uint64_t seq) {
    w_->post([this, seq] { finish(seq, io_error("KV transfer cancelled"), /*cancelled=*/true); });
  }

 private:
  std::string where(const UcxPull& p) const {
    return p.req_.host + ":" + std::to_string(p.req_.port);
  }
  void begin(const std::shared_ptr<UcxPull>& p);
  void finish(uint64_t seq, Result<KvSnapshot> r, bool cancelled = false);
  void take_head(uint64_t seq, const std::string& head);
  void expire_stalled();
  static void on_endpoint_error(void* arg, ucp_ep_h ep, ucs_status_t status);
  static ucs_status_t on_head(void* arg, const void* header, size_t header_length, void* data,
                              size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t on_layer(void* arg, const void* header, size_t header_length, void* data,
                               size_t length, const ucp_am_recv_param_t* param);

  std::unique_ptr<UcxWorker> w_;
  std::atomic<uint64_t> next_seq_{1};
  std::map<uint64_t, std::shared_ptr<UcxPull>> pulls_;  // worker thread only
  std::map<ucp_ep_h, uint64_t> pull_of_ep_;             // worker thread only
};

void UcxPull::cancel() {
  client_->cancel(seq_);
}

void UcxKvClient::begin(const std::shared_ptr<UcxPull>& p) {
  pulls_[p->seq_] = p;
  socklen_t len = 0;
  auto addr = resolve(p->req_.host, p->req_.port, &len);
  if (!addr.is_ok()) return finish(p->seq_, addr.status());
  ucp_ep_params_t ep{};
  ep.field_mask = UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR |
                  UCP_EP_PARAM_FIELD_ERR_HANDLER | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
  ep.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER;
  ep.sockaddr.addr = reinterpret_cast<const sockaddr*>(&*addr);
  ep.sockaddr.addrlen = len;
  ep.err_mode = UCP_ERR_HANDLING_MODE_PEER;
  ep.err_handler.cb = &UcxKvClient::on_endpoint_error;
  ep.err_handler.arg = this;
  const ucs_status_t s = ucp_ep_create(w_->worker(), &ep, &p->ep_);
  if (s != UCS_OK) {
    p->ep_ = nullptr;
    return finish(p->seq_, io_error("KV transfer from " + where(*p) +
                                    ": connecting (UCX): " + ucx_status_text(s)));
  }
  pull_of_ep_[p->ep_] = p->seq_;
  auto request = std::make_shared<std::string>(encode_pull_request(p->req_.transfer_id));
  w_->send_am(p->ep_, kAmPull, am_header(p->seq_), request->data(), request->size(),
              UCP_AM_SEND_FLAG_REPLY,
              [this, request, seq = p->seq_, where = where(*p)](ucs_status_t status) {
                if (status != UCS_OK)
                  finish(seq, io_error("KV transfer from " + where +
                                       ": sending the request (UCX): " + ucx_status_text(status)));
              });
}

void UcxKvClient::finish(uint64_t seq, Result<KvSnapshot> r, bool cancelled) {
  auto it = pulls_.find(seq);
  if (it == pulls_.end()) return;
  std::shared_ptr<UcxPull> p = it->second;
  pulls_.erase(it);
  if (p->ep_) {
    pull_of_ep_.erase(p->ep_);
    // Done: flush and close. Otherwise force: the sender sees the break and lets go.
    w_->close_endpoint(p->ep_, /*force=*/!r.is_ok());
    p->ep_ = nullptr;
  }
  if (r.is_ok()) {
    counters_.transfers.fetch_add(1);
  } else if (!cancelled) {
    counters_.failures.fetch_add(1);
  }
  auto done = std::move(p->done_);
  p->done_ = nullptr;
  if (done) done(std::move(r));
}

void UcxKvClient::on_endpoint_error(void* arg, ucp_ep_h ep, ucs_status_t status) {
  auto* self = static_cast<UcxKvClient*>(arg);
  self->w_->post([self, ep, status] {
    auto it = self->pull_of_ep_.find(ep);
    if (it == self->pull_of_ep_.end()) return;
    auto p = self->pulls_.find(it->second);
    const std::string where = p == self->pulls_.end() ? "" : self->where(*p->second);
    self->finish(it->second,
                 io_error("KV transfer from " + where + " (UCX): " + ucx_status_text(status)));
  });
}

void UcxKvClient::expire_stalled() {
  const auto now = Clock::now();
  std::vector<uint64_t> stalled;
  for (const auto& [seq, p] : pulls_)
    if (now - p->last_progress_ > std::chrono::duration<double>(p->req_.timeout_s))
      stalled.push_back(seq);
  for (uint64_t seq : stalled)
    finish(seq, io_error("KV transfer from " + where(*pulls_[seq]) + ": no progress for " +
                         std::to_string(pulls_[seq]->req_.timeout_s) + " s (UCX)"));
}

ucs_status_t UcxKvClient::on_head(void* arg, const void* header, size_t header_length, void* data,
                                  size_t length, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxKvClient*>(arg);
  uint64_t seq = 0;
  if (!parse_am_header(header, header_length, 8, &seq, nullptr)) return UCS_OK;
  auto it = self->pulls_.find(seq);
  if (it == self->pulls_.end() || it->second->head_seen_) return UCS_OK;
  it->second->head_seen_ = true;
  const size_t max_head = kResponseFixedBytes + kResponseLayoutBytes + 4 * size_t(kMaxWireTokens);
  if (length > max_head) {
    self->w_->post([self, seq] {
      self->finish(seq, format_error("KV transfer: the response head is too long"));
    });
    return UCS_OK;
  }
  auto bytes = std::make_shared<std::string>(length, '\0');
  if (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) {
    // A long prompt's token ids: fetched like a layer.
    self->w_->post([self, seq, bytes, data] {
      self->w_->receive_am_data(
          data, bytes->data(), bytes->size(), [self, seq, bytes](ucs_status_t status) {
            if (status != UCS_OK)
              return self->finish(seq, io_error("KV transfer (UCX): " + ucx_status_text(status)));
            self->take_head(seq, *bytes);
          });
    });
    return UCS_INPROGRESS;
  }
  std::memcpy(bytes->data(), data, length);
  self->w_->post([self, seq, bytes] { self->take_head(seq, *bytes); });
  return UCS_OK;
}

void UcxKvClient::take_head(uint64_t seq, const std::string& bytes) {
  auto it = pulls_.find(seq);
  if (it == pulls_.end()) return;
  UcxPull& p = *it->second;
  p.last_progress_ = Clock::now();
  const std::string_view in(bytes);
  Result<KvWireStatus> status = decode_response_status(in.substr(0, kResponseFixedBytes));
  if (!status.is_ok()) return finish(seq, status.status());
  if (*status == KvWireStatus::kUnknownId)
    return finish(seq, not_found("KV transfer " + p.req_.transfer_id +
                                 ": the prefill instance no longer has it (expired or taken)"));
  if (*status != KvWireStatus::kOk)
    return finish(seq, format_error("KV transfer refused by the sender"));
  Result<ResponseHead> h =
      decode_response_head(in.substr(0, kResponseFixedBytes + kResponseLayoutBytes));
  if (!h.is_ok()) return finish(seq, h.status());
  // Refuse what cannot be used before a byte of K/V moves.
  if (!(h->layout == p.req_.layout))
    return finish(
        seq, invalid_argument("KV transfer: the prefill instance sends " + h->layout.describe() +
                              ", this instance's cache is " + p.req_.layout.describe()));
  if (h->num_tokens != p.req_.num_tokens)
    return finish(seq, invalid_argument("KV transfer: " + std::to_string(h->num_tokens) +
                                        " tokens sent, the request has " +
                                        std::to_string(p.req_.num_tokens)));
  const std::string_view ids = in.substr(kResponseFixedBytes + kResponseLayoutBytes);
  if (ids.size() != size_t(h->num_tokens) * 4)
    return finish(
        seq, format_error("KV transfer: the head has " + std::to_string(ids.size()) +
                          " bytes of token ids for " + std::to_string(h->num_tokens) + " tokens"));
  p.snapshot_.layout = h->layout;
  p.snapshot_.tokens.resize(size_t(h->num_tokens));
  for (size_t i = 0; i < p.snapshot_.tokens.size(); ++i) {
    uint32_t t = 0;
    for (int b = 0; b < 4; ++b)
      t |= uint32_t(static_cast<unsigned char>(ids[4 * i + b])) << (8 * b);
    p.snapshot_.tokens[i] = int32_t(t);
  }
  const size_t layer_bytes = h->layout.layer_bytes(h->num_tokens);
  p.snapshot_.layers.assign(size_t(h->layout.num_layers), std::vector<uint8_t>(layer_bytes));
  p.layer_started_.assign(size_t(h->layout.num_layers), false);
  if (h->layout.num_layers == 0) return finish(seq, std::move(p.snapshot_));
  w_->send_am(p.ep_, kAmSend, am_header(seq), nullptr, 0, UCP_AM_SEND_FLAG_REPLY,
              [](ucs_status_t) {});
}

ucs_status_t UcxKvClient::on_layer(void* arg, const void* header, size_t header_length, void* data,
                                   size_t length, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxKvClient*>(arg);
  uint64_t seq = 0;
  uint32_t layer = 0;
  if (!parse_am_header(header, header_length, 12, &seq, &layer)) return UCS_OK;
  auto it = self->pulls_.find(seq);
  if (it == self->pulls_.end()) return UCS_OK;  // cancelled or failed: dropped
  std::shared_ptr<UcxPull> p = it->second;
  const bool fits = p->head_seen_ && layer < p->snapshot_.layers.size() &&
                    !p->layer_started_[layer] && length == p->snapshot_.layers[layer].size();
  if (!fits) {
    self->w_->post([self, seq, layer, length] {
      self->finish(seq, format_error("KV transfer: layer " + std::to_string(layer) + " of " +
                                     std::to_string(length) + " bytes does not match the head"));
    });
    return UCS_OK;
  }
  p->layer_started_[layer] = true;
  uint8_t* dest = p->snapshot_.layers[layer].data();
  auto landed = [self, p, length](ucs_status_t status) {
    if (self->pulls_.count(p->seq_) == 0) return;  // finished meanwhile
    if (status != UCS_OK)
      return self->finish(p->seq_, io_error("KV transfer from " + self->where(*p) +
                                            ": reading a layer (UCX): " + ucx_status_text(status)));
    self->counters_.bytes.fetch_add(length);
    p->last_progress_ = Clock::now();
    if (++p->layers_done_ == p->snapshot_.layers.size())
      self->finish(p->seq_, std::move(p->snapshot_));
  };
  if (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) {
    // Rendezvous: the bytes move straight into the layer (an RDMA read where there is RDMA).
    self->w_->post([self, p, data, dest, length, landed] {
      if (self->pulls_.count(p->seq_) == 0) return ucp_am_data_release(self->w_->worker(), data);
      self->w_->receive_am_data(data, dest, length, landed);
    });
    return UCS_INPROGRESS;
  }
  std::memcpy(dest, data, length);
  self->w_->post([landed] { landed(UCS_OK); });
  return UCS_OK;
}

}  // namespace

std::unique_ptr<KvTransferServer> make_ucx_kv_server(KvExportStore& store, std::string host,
                                                     int port) {
  return std::make_unique<UcxKvServer>(store, std::move(host), port);
}

Result<std::unique_ptr<KvTransferClient>> make_ucx_kv_client() {
  auto client = std::make_unique<UcxKvClient>();
  XY_RETURN_IF_ERROR(client->start());
  return std::unique_ptr<KvTransferClient>(std::move(client));
}

}  // namespace xy::cluster
