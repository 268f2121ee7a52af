// KV transfer of prefill/decode disaggregation over loopback, TCP and UCX (cluster/kv_transfer.h):
// one pull of a prompt's K/V for the llama-3.2-1b shape (16 layers x 8 KV heads x 64, bf16:
// 32 KiB per token), store -> wire -> receiver, for several prompt lengths. Reports bytes/s,
// so the result compares directly with a network's line rate (docs/scale-out.md).
//
// Two placements of the sender:
//   BM_KvPull{Tcp,Ucx}          sender and receiver in this process
//   BM_KvPull{Tcp,Ucx}Process   the sender in a child process, as a prefill instance and a
//                               decode instance on one host are (UCX can use shared memory)
// The child is forked at start-up, before any thread exists, and serves exports on request
// over a pipe ("<tokens>\n" -> "<transfer id>\n").
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <future>
#include <map>
#include <string>

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

// A sender in a child process: its port, and pipes to ask it for exports.
struct ChildSender {
  pid_t pid = -1;
  int port = 0;
  FILE* ask = nullptr;     // parent -> child
  FILE* answer = nullptr;  // child -> parent
  std::string put(int tokens) {
    std::fprintf(ask, "%d\n", tokens);
    std::fflush(ask);
    char line[512];
    if (!std::fgets(line, sizeof line, answer)) return "";
    line[std::strcspn(line, "\n")] = 0;
    return line;
  }
};
ChildSender g_child[2];  // by transport

[[noreturn]] void run_child_sender(cluster::KvTransport transport, int ask_fd, int answer_fd) {
  FILE* in = fdopen(ask_fd, "r");
  FILE* out = fdopen(answer_fd, "w");
  cluster::KvExportStore store(600, size_t(8) << 30);
  auto server = cluster::make_kv_transfer_server(transport, store, "127.0.0.1", 0);
  const bool ok = server->start().is_ok();
  std::fprintf(out, "%d\n", ok ? server->port() : 0);
  std::fflush(out);
  std::map<int, std::shared_ptr<const KvSnapshot>> snapshots;
  char line[64];
  while (ok && std::fgets(line, sizeof line, in)) {
    const int tokens = std::atoi(line);
    auto& s = snapshots[tokens];
    if (!s) s = llama_1b_snapshot(tokens);
    std::fprintf(out, "%s\n", store.put(s).c_str());
    std::fflush(out);
  }
  server->stop();
  _exit(0);
}

void fork_child_sender(cluster::KvTransport transport) {
  int ask[2], answer[2];
  if (pipe(ask) != 0 || pipe(answer) != 0) return;
  const pid_t pid = fork();
  if (pid == 0) {
    close(ask[1]);
    close(answer[0]);
    // An earlier child's pipe ends held here would keep it from seeing EOF at the end.
    for (ChildSender& earlier : g_child) {
      if (earlier.ask) std::fclose(earlier.ask);
      if (earlier.answer) std::fclose(earlier.answer);
    }
    run_child_sender(transport, ask[0], answer[1]);
  }
  close(ask[0]);
  close(answer[1]);
  ChildSender& c = g_child[int(transport)];
  c.pid = pid;
  c.ask = fdopen(ask[1], "w");
  c.answer = fdopen(answer[0], "r");
  char line[64];
  if (pid > 0 && std::fgets(line, sizeof line, c.answer)) c.port = std::atoi(line);
}

void stop_child_senders() {
  for (ChildSender& c : g_child) {
    if (c.pid <= 0) continue;
    std::fclose(c.ask);  // EOF: the child stops
    waitpid(c.pid, nullptr, 0);
    std::fclose(c.answer);
  }
}

bool transport_usable(benchmark::State& state, cluster::KvTransport transport) {
  if (transport == cluster::KvTransport::kUcx && !cluster::kv_transport_ucx_built()) {
    state.SkipWithError("built without UCX");
    return false;
  }
  return true;
}

// Times pulls from `port`; `put` makes the export for each one (not timed).
template <typename Put>
void time_pulls(benchmark::State& state, cluster::KvTransport transport, int port, Put put) {
  const int tokens = int(state.range(0));
  auto made = cluster::make_kv_transfer_client(transport);
  if (!made.is_ok()) {
    state.SkipWithError(made.status().message().c_str());
    return;
  }
  cluster::KvTransferClient& client = **made;
  const KvSnapshotLayout layout{16, 8, 64, DType::kBF16};
  for (auto _ : state) {
    state.PauseTiming();
    const std::string id = put(tokens);
    state.ResumeTiming();
    std::promise<bool> done;
    client.pull({"127.0.0.1", port, id, layout, tokens, 30},
                [&done](Result<KvSnapshot> r) { done.set_value(r.is_ok()); });
    if (!done.get_future().get()) state.SkipWithError("transfer failed");
  }
  const double bytes = double(tokens) * 2 * 16 * 8 * 64 * 2;
  state.SetBytesProcessed(int64_t(double(state.iterations()) * bytes));
  state.counters["MiB"] = bytes / (1 << 20);
}

void pull_in_process(benchmark::State& state, cluster::KvTransport transport) {
  if (!transport_usable(state, transport)) return;
  cluster::KvExportStore store;
  auto server = cluster::make_kv_transfer_server(transport, store, "127.0.0.1", 0);
  if (!server->start().is_ok()) {
    state.SkipWithError("cannot listen on loopback");
    return;
  }
  const auto snapshot = llama_1b_snapshot(int(state.range(0)));
  time_pulls(state, transport, server->port(), [&](int) { return store.put(snapshot); });
  server->stop();
}

void pull_from_process(benchmark::State& state, cluster::KvTransport transport) {
  if (!transport_usable(state, transport)) return;
  ChildSender& child = g_child[int(transport)];
  if (child.port == 0) {
    state.SkipWithError("the sender process did not start");
    return;
  }
  time_pulls(state, transport, child.port, [&](int tokens) { return child.put(tokens); });
}

void BM_KvPullTcp(benchmark::State& state) {
  pull_in_process(state, cluster::KvTransport::kTcp);
}
void BM_KvPullUcx(benchmark::State& state) {
  pull_in_process(state, cluster::KvTransport::kUcx);
}
void BM_KvPullTcpProcess(benchmark::State& state) {
  pull_from_process(state, cluster::KvTransport::kTcp);
}
void BM_KvPullUcxProcess(benchmark::State& state) {
  pull_from_process(state, cluster::KvTransport::kUcx);
}
#define KV_SIZES(b) \
  BENCHMARK(b)->Arg(128)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime()
KV_SIZES(BM_KvPullTcp);
KV_SIZES(BM_KvPullUcx);
KV_SIZES(BM_KvPullTcpProcess);
KV_SIZES(BM_KvPullUcxProcess);

}  // namespace

int main(int argc, char** argv) {
  // Forked before anything starts a thread.
  fork_child_sender(xy::cluster::KvTransport::kTcp);
  if (xy::cluster::kv_transport_ucx_built()) fork_child_sender(xy::cluster::KvTransport::kUcx);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  stop_child_senders();
  return 0;
}
