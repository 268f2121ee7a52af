#include "server/disaggregation.h"

#include "server/metrics_registry.h"

namespace xy::server {

Disaggregation::Disaggregation(DisaggregationOptions options)
    : options_(std::move(options)), store_(options_.export_ttl_s, options_.max_export_bytes) {}

Result<std::unique_ptr<Disaggregation>> Disaggregation::start(DisaggregationOptions options) {
  if (options.role != "hybrid" && options.role != "prefill" && options.role != "decode")
    return invalid_argument("--role must be hybrid, prefill or decode, got '" + options.role + "'");
  std::unique_ptr<Disaggregation> d(new Disaggregation(std::move(options)));
  d->server_ = std::make_unique<cluster::KvTransferServer>(d->store_, d->options_.transfer_host,
                                                           d->options_.transfer_port);
  XY_RETURN_IF_ERROR(d->server_->start());
  d->client_ = std::make_unique<cluster::KvTransferClient>();
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
                        {"sampled_token_ids", sampled_tokens},
                        {"rng_position", rng_position}};
}

std::shared_ptr<cluster::KvPull> Disaggregation::pull(
    const KvTransferParams& params, KvSnapshotLayout layout, int num_tokens,
    std::function<void(Result<KvSnapshot>)> done) {
  cluster::KvPullRequest req;
  req.host = params.remote_host;
  req.port = params.remote_port;
  req.transfer_id = params.transfer_id;
  req.layout = layout;
  req.num_tokens = num_tokens;
  req.timeout_s = options_.pull_timeout_s;
  return client_->pull(std::move(req), std::move(done));
}

std::string Disaggregation::render_metrics(const std::string& labels) const {
  // Rendered from a registry filled at scrape time: the values live in the store and the
  // transfer counters, which the registry only mirrors.
  MetricsRegistry reg(labels);
  const auto& out = server_->counters();
  const auto& in = client_->counters();
  reg.labeled_gauge("xyserve:instance_role", "The disaggregation role this instance started in.",
                    "role", options_.role)
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
      ->set_total(double(in.transfers.load()));
  reg.counter("xyserve:kv_transfer_bytes_received_total", "K/V bytes received.")
      ->set_total(double(in.bytes.load()));
  reg.counter("xyserve:kv_transfer_failures_total", "K/V transfers that failed (either side).")
      ->set_total(double(out.failures.load() + in.failures.load()));
  return reg.render();
}

}  // namespace xy::server
