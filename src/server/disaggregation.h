// Prefill/decode disaggregation on one instance: the K/V export side (prompt K/V kept in a
// KvExportStore, served on the KV transfer port, described to the router as kv_transfer_params)
// and the import side (pulling a prefill instance's K/V before the request enters the engine).
// Every instance has both: the router decides who prefills and who decodes, and can move an
// instance between the roles without restarting it. --role is the role it starts in (reported
// in /metrics as xyserve:instance_role for the router).
//
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster/kv_export_store.h"
#include "cluster/kv_transfer.h"
#include "core/status.h"
#include "model/kv_snapshot.h"
#include "server/protocol/openai_request.h"

namespace xy::server {

struct DisaggregationOptions {
  std::string role = "hybrid";  // hybrid | prefill | decode
  std::string transfer_host;    // address the KV port binds and advertises ("" = the HTTP host)
  int transfer_port = 0;        // 0 = any free port
  double export_ttl_s = 60;     // K/V nobody pulled is dropped after this
  size_t max_export_bytes = size_t(4) << 30;
  double pull_timeout_s = 30;
  // How this instance serves its K/V: "ucx" (RDMA where there is one; the default when built
  // with UCX) or "tcp". Pulls use whichever transport the prefill instance names.
  std::string transport;  // "" = cluster::default_kv_transport()
};

class Disaggregation {
 public:
  // Starts the KV transfer port and the pulling client.
  static Result<std::unique_ptr<Disaggregation>> start(DisaggregationOptions options);

  const std::string& role() const { return options_.role; }
  int transfer_port() const { return server_->port(); }
  cluster::KvTransport transport() const { return server_->transport(); }

  // Export side: keeps the snapshot and returns the kv_transfer_params a decode instance needs
  // ({"do_remote_prefill":true, "transfer_id", "remote_host", "remote_port", "kv_transport",
  // "sampled_token_ids", "rng_position"}); kResourceExhausted when the export store is full.
  Result<nlohmann::json> export_kv(std::shared_ptr<const KvSnapshot> snapshot,
                                   const std::vector<int32_t>& sampled_tokens,
                                   uint64_t rng_position);

  // Import side: pulls the K/V that `params` names, over the transport it names (that
  // transport's client is started at the first pull). `done` runs on the transfer thread.
  Result<std::shared_ptr<cluster::KvPull>> pull(const KvTransferParams& params,
                                                KvSnapshotLayout layout, int num_tokens,
                                                std::function<void(Result<KvSnapshot>)> done);

  // Prometheus lines (xyserve:kv_* and xyserve:instance_role), appended to /metrics.
  std::string render_metrics(const std::string& labels) const;

 private:
  explicit Disaggregation(DisaggregationOptions options);

  DisaggregationOptions options_;
  cluster::KvExportStore store_;
  std::unique_ptr<cluster::KvTransferServer> server_;
  mutable std::mutex clients_mu_;
  // By transport; made on first use.
  std::map<cluster::KvTransport, std::unique_ptr<cluster::KvTransferClient>> clients_;
};

}  // namespace xy::server
