// The receiving side of the UCX KV transport (ucx_kv_protocol.h): pulls by transfer id over one
// endpoint per prefill instance, kept while it is used (UCX's connection set-up costs several
// milliseconds, more than moving a short prompt's K/V), each layer received straight into the
// snapshot it will be handed over in.
#include <spdlog/spdlog.h>

#include <cstring>
#include <map>
#include <set>

#include "cluster/kv_transfer_ucx.h"
#include "cluster/kv_wire.h"
#include "cluster/ucx_kv_protocol.h"
#include "cluster/ucx_worker.h"

namespace xy::cluster {

namespace {

using namespace ucx_kv;
using Clock = std::chrono::steady_clock;

// An endpoint nobody has pulled over for this long is closed.
constexpr auto kIdleEndpoint = std::chrono::seconds(30);

class UcxKvClient;

class UcxPull final : public KvPull {
 public:
  UcxPull(UcxKvClient* client, uint64_t seq, KvPullRequest req,
          std::function<void(Result<KvSnapshot>)> done)
      : client_(client),
        seq_(seq),
        req_(std::move(req)),
        where_(req_.host + ":" + std::to_string(req_.port)),
        done_(std::move(done)) {}
  void cancel() override;

 private:
  friend class UcxKvClient;
  UcxKvClient* client_;
  const uint64_t seq_;
  KvPullRequest req_;
  const std::string where_;  // host:port, also the key of the endpoint it uses
  std::function<void(Result<KvSnapshot>)> done_;
  ucp_ep_h ep_ = nullptr;
  bool reused_endpoint_ = false;  // an endpoint made for an earlier pull
  bool retried_ = false;
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
    auto w = UcxWorker::create([this] { on_tick(); }, kTick);
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
          for (auto& [where, peer] : peers_) w_->close_endpoint(peer.ep, /*force=*/true);
          peers_.clear();
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
  // One prefill instance's endpoint and the pulls using it.
  struct Peer {
    ucp_ep_h ep = nullptr;
    std::set<uint64_t> pulls;
    Clock::time_point idle_since = Clock::now();
  };

  Result<ucp_ep_h> endpoint_to(const KvPullRequest& req, const std::string& where);
  void begin(const std::shared_ptr<UcxPull>& p);
  void finish(uint64_t seq, Result<KvSnapshot> r, bool cancelled = false);
  void take_head(uint64_t seq, const std::string& head);
  void on_tick();
  static void on_endpoint_error(void* arg, ucp_ep_h ep, ucs_status_t status);
  static ucs_status_t on_head(void* arg, const void* header, size_t header_length, void* data,
                              size_t length, const ucp_am_recv_param_t* param);
  static ucs_status_t on_layer(void* arg, const void* header, size_t header_length, void* data,
                               size_t length, const ucp_am_recv_param_t* param);

  std::unique_ptr<UcxWorker> w_;
  std::atomic<uint64_t> next_seq_{1};
  // Worker thread only:
  std::map<uint64_t, std::shared_ptr<UcxPull>> pulls_;
  std::map<std::string, Peer> peers_;  // by host:port
};

void UcxPull::cancel() {
  client_->cancel(seq_);
}

Result<ucp_ep_h> UcxKvClient::endpoint_to(const KvPullRequest& req, const std::string& where) {
  auto it = peers_.find(where);
  if (it != peers_.end()) return it->second.ep;
  socklen_t len = 0;
  auto addr = resolve(req.host, req.port, &len);
  if (!addr.is_ok()) return addr.status();
  ucp_ep_params_t ep{};
  ep.field_mask = UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR |
                  UCP_EP_PARAM_FIELD_ERR_HANDLER | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
  ep.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER;
  ep.sockaddr.addr = reinterpret_cast<const sockaddr*>(&*addr);
  ep.sockaddr.addrlen = len;
  ep.err_mode = UCP_ERR_HANDLING_MODE_PEER;
  ep.err_handler.cb = &UcxKvClient::on_endpoint_error;
  ep.err_handler.arg = this;
  ucp_ep_h h = nullptr;
  const ucs_status_t s = ucp_ep_create(w_->worker(), &ep, &h);
  if (s != UCS_OK)
    return io_error("KV transfer from " + where + ": connecting (UCX): " + ucx_status_text(s));
  peers_[where].ep = h;
  return h;
}

void UcxKvClient::begin(const std::shared_ptr<UcxPull>& p) {
  pulls_[p->seq_] = p;
  p->reused_endpoint_ = peers_.count(p->where_) > 0;
  Result<ucp_ep_h> ep = endpoint_to(p->req_, p->where_);
  if (!ep.is_ok()) return finish(p->seq_, ep.status());
  p->ep_ = *ep;
  peers_[p->where_].pulls.insert(p->seq_);
  auto request = std::make_shared<std::string>(encode_pull_request(p->req_.transfer_id));
  w_->send_am(p->ep_, kAmPull, am_header(p->seq_), request->data(), request->size(),
              UCP_AM_SEND_FLAG_REPLY,
              [this, request, seq = p->seq_, where = p->where_](ucs_status_t status) {
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
  auto peer = peers_.find(p->where_);
  if (peer != peers_.end() && peer->second.pulls.erase(seq) > 0) {
    if (peer->second.pulls.empty()) peer->second.idle_since = Clock::now();
    // Refused, given up or cancelled on a live endpoint: the sender lets go of it.
    if (!r.is_ok())
      w_->send_am(peer->second.ep, kAmCancel, am_header(seq), nullptr, 0, UCP_AM_SEND_FLAG_REPLY,
                  [](ucs_status_t) {});
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
    auto it = std::find_if(self->peers_.begin(), self->peers_.end(),
                           [ep](const auto& kv) { return kv.second.ep == ep; });
    if (it == self->peers_.end()) return;
    const std::string where = it->first;
    const std::set<uint64_t> pulls = std::move(it->second.pulls);
    self->peers_.erase(it);
    self->w_->close_endpoint(ep, /*force=*/true);
    for (uint64_t seq : pulls) {
      auto p = self->pulls_.find(seq);
      if (p == self->pulls_.end()) continue;
      // A kept endpoint can be stale (the prefill instance restarted): a pull that has heard
      // nothing yet tries once more on a fresh one.
      if (p->second->reused_endpoint_ && !p->second->head_seen_ && !p->second->retried_) {
        p->second->retried_ = true;
        self->begin(p->second);
        continue;
      }
      self->finish(seq,
                   io_error("KV transfer from " + where + " (UCX): " + ucx_status_text(status)));
    }
  });
}

void UcxKvClient::on_tick() {
  const auto now = Clock::now();
  std::vector<uint64_t> stalled;
  for (const auto& [seq, p] : pulls_)
    if (now - p->last_progress_ > std::chrono::duration<double>(p->req_.timeout_s))
      stalled.push_back(seq);
  for (uint64_t seq : stalled) {
    const UcxPull& p = *pulls_[seq];
    finish(seq, io_error("KV transfer from " + p.where_ + ": no progress for " +
                         std::to_string(p.req_.timeout_s) + " s (UCX)"));
  }
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (it->second.pulls.empty() && now - it->second.idle_since > kIdleEndpoint) {
      w_->close_endpoint(it->second.ep, /*force=*/false);
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
}

ucs_status_t UcxKvClient::on_head(void* arg, const void* header, size_t header_length, void* data,
                                  size_t length, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxKvClient*>(arg);
  uint64_t seq = 0;
  if (!parse_am_header(header, header_length, kPullHeaderBytes, &seq)) return UCS_OK;
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
  // Refuse what cannot be used before a byte of K/V moves.
  Result<ResponseHead> h =
      accept_response_head(in.substr(0, kResponseFixedBytes + kResponseLayoutBytes),
                           p.req_.transfer_id, p.req_.layout, p.req_.num_tokens);
  if (!h.is_ok()) return finish(seq, h.status());
  const std::string_view ids = in.substr(kResponseFixedBytes + kResponseLayoutBytes);
  if (ids.size() != size_t(h->num_tokens) * 4)
    return finish(
        seq, format_error("KV transfer: the head has " + std::to_string(ids.size()) +
                          " bytes of token ids for " + std::to_string(h->num_tokens) + " tokens"));
  p.snapshot_.layout = h->layout;
  p.snapshot_.tokens = decode_token_ids(ids);
  const size_t layer_bytes = h->layout.layer_bytes(h->num_tokens);
  p.snapshot_.layers.assign(size_t(h->layout.num_layers), std::vector<uint8_t>(layer_bytes));
  p.layer_started_.assign(size_t(h->layout.num_layers), false);
  if (h->layout.num_layers == 0) return finish(seq, std::move(p.snapshot_));
  w_->send_am(p.ep_, kAmSend, am_header(seq), nullptr, 0, UCP_AM_SEND_FLAG_REPLY,
              [](ucs_status_t) {});  // a failure shows as the endpoint's error
}

ucs_status_t UcxKvClient::on_layer(void* arg, const void* header, size_t header_length, void* data,
                                   size_t length, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxKvClient*>(arg);
  uint64_t seq = 0;
  uint32_t layer = 0;
  if (!parse_am_header(header, header_length, kLayerHeaderBytes, &seq, &layer)) return UCS_OK;
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
      return self->finish(p->seq_, io_error("KV transfer from " + p->where_ +
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

Result<std::unique_ptr<KvTransferClient>> make_ucx_kv_client() {
  auto client = std::make_unique<UcxKvClient>();
  XY_RETURN_IF_ERROR(client->start());
  return std::unique_ptr<KvTransferClient>(std::move(client));
}

}  // namespace xy::cluster
