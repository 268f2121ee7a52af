// KV transfer of prefill/decode disaggregation over loopback, TCP and UCX (cluster/kv_transfer.h):
// one pull of a prompt's K/V for the llama-3.2-1b shape (16 layers x 8 KV heads x 64, bf16:
// 32 KiB per token), store -> wire -> receiver, for several prompt lengths. Reports bytes/s,
// so the result compares directly with a network's line rate (docs/scale-out.md).
#include <benchmark/benchmark.h>

#include <future>

#include "cluster/kv_export_store.h"
#include "cluster/kv_transfer.h"

namespace {

using namespace xy;

std::shared_ptr<const KvSnapshot> llama_1b_snapshot(int tokens) {
  auto s = std::make_shared<KvSnapshot>();
  s->layout = {16, 8, 64, DType::kBF16};
  s->tokens.assign(size_t(tokens), 7);
  for (int l = 0; l < 16; ++l) s->layers.emplace_back(s->layout.layer_bytes(tokens), uint8_t(l));
  return s;
}

void pull_loopback(benchmark::State& state, cluster::KvTransport transport) {
  const int tokens = int(state.range(0));
  cluster::KvExportStore store;
  auto server = cluster::make_kv_transfer_server(transport, store, "127.0.0.1", 0);
  if (!server->start().is_ok()) {
    state.SkipWithError("cannot listen on loopback");
    return;
  }
  auto made = cluster::make_kv_transfer_client(transport);
  if (!made.is_ok()) {
    state.SkipWithError(made.status().message().c_str());
    return;
  }
  cluster::KvTransferClient& client = **made;
  const auto snapshot = llama_1b_snapshot(tokens);
  for (auto _ : state) {
    const std::string id = store.put(snapshot);
    std::promise<bool> done;
    client.pull({"127.0.0.1", server->port(), id, snapshot->layout, tokens, 30},
                [&done](Result<KvSnapshot> r) { done.set_value(r.is_ok()); });
    if (!done.get_future().get()) state.SkipWithError("transfer failed");
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(snapshot->bytes()));
  state.counters["MiB"] = double(snapshot->bytes()) / (1 << 20);
  server->stop();
}

void BM_KvPullTcp(benchmark::State& state) {
  pull_loopback(state, cluster::KvTransport::kTcp);
}
void BM_KvPullUcx(benchmark::State& state) {
  if (!cluster::kv_transport_ucx_built()) {
    state.SkipWithError("built without UCX");
    return;
  }
  pull_loopback(state, cluster::KvTransport::kUcx);
}
BENCHMARK(BM_KvPullTcp)
    ->Arg(128)
    ->Arg(1024)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_KvPullUcx)
    ->Arg(128)
    ->Arg(1024)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
