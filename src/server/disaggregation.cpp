#include "server/disaggregation.h"

#include <spdlog/spdlog.h>

#include "server/metrics_registry.h"

namespace xy::server {

Disaggregation::Disaggregation(DisaggregationOptions options)
    : options_(std::move(options)), store_(options_.export_ttl_s, options_.max_export_bytes) {}

Result<std::unique_ptr<Disaggregation>> Disaggregation::start(DisaggregationOptions options) {
  if (options.role != "hybrid" && options.role != "prefill" && options.role != "decode")
    return invalid_argument("--role must be hybrid, prefill or decode, got '" + options.role + "'");
  cluster::KvTransport transport = cluster::default_kv_transport();
  if (!options.transport.empty()) {
    Result<cluster::KvTransport> t = cluster::parse_kv_transport(options.transport);
    if (!t.is_ok()) return t.status();
    transport = *t;
  }
  std::unique_ptr<Disaggregation> d(new Disaggregation(std::move(options)));
  d->server_ = cluster::make_kv_transfer_server(transport, d->store_, d->options_.transfer_host,
                                                d->options_.transfer_port);
  Status started = d->server_->start();
  if (!started.is_ok() && transport == cluster::KvTransport::kUcx &&
      d->options_.transport.empty()) {
    // The default transport could not start (no usable UCX device): TCP needs only sockets.
    spdlog::warn("KV transfer: UCX unavailable ({}); serving K/V over TCP", started.message());
    d->server_ =
        cluster::make_kv_transfer_server(cluster::KvTransport::kTcp, d->store_,
                                         d->options_.transfer_host, d->options_.transfer_port);
    started = d->server_->start();
  }
  XY_RETURN_IF_ERROR(started);
  return d;
}

Result<nlohmann::json> Disaggregation::export_kv(std::shared_ptr<const KvSnapshot> snapshot,
                                                 const std::vector<int32_t>& sampled_tokens,
                                                 uint64_t rng_position) {
  const std::string id = store_.put(std::move(snapshot));
  if (id.empty())
    return resource_exhausted("the KV export store is full (" + std::to_string(store_.bytes()) +
                              " bytes waiting to be pulled)");
  return nlohmann::json{{"do_remote_prefill", true},
                        {"transfer_id", id},
                        {"remote_host", options_.transfer_host},
                        {"remote_port", server_->port()},
                        {"kv_transport", cluster::kv_transport_name(server_->transport())},
                        {"sampled_token_ids", sampled_tokens},
                        {"rng_position", rng_position}};
}

Result<std::shared_ptr<cluster::KvPull>> Disaggregation::pull(
    const KvTransferParams& params, KvSnapshotLayout layout, int num_tokens,
    std::function<void(Result<KvSnapshot>)> done) {
  Result<cluster::KvTransport> transport = cluster::parse_kv_transport(params.kv_transport);
  if (!transport.is_ok()) return transport.status();
  cluster::KvTransferClient* client = nullptr;
  {
    std::lock_guard lock(clients_mu_);
    auto& slot = clients_[*transport];
    if (!slot) {
      Result<std::unique_ptr<cluster::KvTransferClient>> made =
          cluster::make_kv_transfer_client(*transport);
      if (!made.is_ok()) return made.status();
      slot = std::move(*made);
    }
    client = slot.get();
  }
  cluster::KvPullRequest req;
  req.host = params.remote_host;
  req.port = params.remote_port;
  req.transfer_id = params.transfer_id;
  req.layout = layout;
  req.num_tokens = num_tokens;
  req.timeout_s = options_.pull_timeout_s;
  return client->pull(std::move(req), std::move(done));
}

std::string Disaggregation::render_metrics(const std::string& labels) const {
  // Rendered from a registry filled at scrape time: the values live in the store and the
  // transfer counters, which the registry only mirrors.
  MetricsRegistry reg(labels);
  const auto& out = server_->counters();
  uint64_t in_transfers = 0, in_bytes = 0, in_failures = 0;
  {
    std::lock_guard lock(clients_mu_);
    for (const auto& [transport, client] : clients_) {
      in_transfers += client->counters().transfers.load();
      in_bytes += client->counters().bytes.load();
      in_failures += client->counters().failures.load();
    }
  }
  reg.labeled_gauge("xyserve:instance_role", "The disaggregation role this instance started in.",
                    "role", options_.role)
      ->set(1);
  reg.labeled_gauge("xyserve:kv_transport", "The transport this instance serves K/V with.",
                    "transport", std::string(cluster::kv_transport_name(server_->transport())))
      ->set(1);
  reg.gauge("xyserve:kv_export_pending", "Prompt K/V kept for a decode instance to pull.")
      ->set(double(store_.num_entries()));
  reg.gauge("xyserve:kv_export_pending_bytes", "Bytes of prompt K/V waiting to be pulled.")
      ->set(double(store_.bytes()));
  reg.counter("xyserve:kv_export_expired_total", "Exported K/V dropped unpulled (TTL).")
      ->set_total(double(store_.num_expired()));
  reg.counter("xyserve:kv_transfers_sent_total", "K/V transfers served to decode instances.")
      ->set_total(double(out.transfers.load()));
  reg.counter("xyserve:kv_transfer_bytes_sent_total", "K/V bytes sent.")
      ->set_total(double(out.bytes.load()));
  reg.counter("xyserve:kv_transfers_received_total", "K/V transfers pulled from prefill instances.")
      ->set_total(double(in_transfers));
  reg.counter("xyserve:kv_transfer_bytes_received_total", "K/V bytes received.")
      ->set_total(double(in_bytes));
  reg.counter("xyserve:kv_transfer_failures_total", "K/V transfers that failed (either side).")
      ->set_total(double(out.failures.load() + in_failures));
  return reg.render();
}

}  // namespace xy::server
