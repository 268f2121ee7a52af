#include "server/disaggregation.h"

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
  // Built with += only: GCC 12 reports a false -Wrestrict on long operator+ chains.
  std::string braced;
  if (!labels.empty()) {
    braced += '{';
    braced += labels;
    braced += '}';
  }
  std::string role_labels = "{";
  if (!labels.empty()) {
    role_labels += labels;
    role_labels += ',';
  }
  role_labels += "role=\"";
  role_labels += options_.role;
  role_labels += "\"}";
  std::string s;
  auto line = [&s](const char* name, const char* type, const char* help, double v,
                   const std::string& lab) {
    s += "# HELP ";
    s += name;
    s += ' ';
    s += help;
    s += "\n# TYPE ";
    s += name;
    s += ' ';
    s += type;
    s += '\n';
    s += name;
    s += lab;
    s += ' ';
    s += std::to_string(static_cast<long long>(v));
    s += '\n';
  };
  const auto& out = server_->counters();
  const auto& in = client_->counters();
  line("xyserve:instance_role", "gauge", "The disaggregation role this instance started in.", 1,
       role_labels);
  line("xyserve:kv_export_pending", "gauge", "Prompt K/V kept for a decode instance to pull.",
       double(store_.num_entries()), braced);
  line("xyserve:kv_export_pending_bytes", "gauge", "Bytes of prompt K/V waiting to be pulled.",
       double(store_.bytes()), braced);
  line("xyserve:kv_export_expired_total", "counter", "Exported K/V dropped unpulled (TTL).",
       double(store_.num_expired()), braced);
  line("xyserve:kv_transfers_sent_total", "counter", "K/V transfers served to decode instances.",
       double(out.transfers.load()), braced);
  line("xyserve:kv_transfer_bytes_sent_total", "counter", "K/V bytes sent.",
       double(out.bytes.load()), braced);
  line("xyserve:kv_transfers_received_total", "counter",
       "K/V transfers pulled from prefill instances.", double(in.transfers.load()), braced);
  line("xyserve:kv_transfer_bytes_received_total", "counter", "K/V bytes received.",
       double(in.bytes.load()), braced);
  line("xyserve:kv_transfer_failures_total", "counter", "K/V transfers that failed (either side).",
       double(out.failures.load() + in.failures.load()), braced);
  return s;
}

}  // namespace xy::server
