// The KV transfer of disaggregated serving: wire format (round trip, every truncation, bad
// fields), the export store (single use, expiry, capacity), and real transfers over loopback
// on every transport this build has, TCP and UCX (success bit for bit, unknown id, layout and
// length refused before reading, a receiver that cancels mid-transfer, a sender that is gone,
// many pulls at once).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <random>
#include <thread>

#include "cluster/kv_export_store.h"
#include "cluster/kv_transfer.h"
#include "cluster/kv_wire.h"

namespace xy::cluster {
namespace {

KvSnapshot random_snapshot(int layers, int heads, int dim, DType dtype, int tokens, int seed) {
  std::mt19937 rng(seed);
  KvSnapshot s;
  s.layout = {layers, heads, dim, dtype};
  for (int t = 0; t < tokens; ++t) s.tokens.push_back(int32_t(rng() % 50000));
  for (int l = 0; l < layers; ++l) {
    std::vector<uint8_t> bytes(s.layout.layer_bytes(tokens));
    uint64_t x = rng();
    for (uint8_t& b : bytes) {  // a cheap generator: these can be hundreds of MB
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      b = uint8_t(x >> 56);
    }
    s.layers.push_back(std::move(bytes));
  }
  return s;
}

TEST(KvWire, RoundTripsAndRejectsEveryTruncation) {
  for (DType d : {DType::kF32, DType::kBF16, DType::kI8}) {
    const KvSnapshot s = random_snapshot(3, 2, 8, d, 5, 1);
    const std::string bytes = encode_response(s);
    auto back = decode_response(bytes);
    ASSERT_TRUE(back.is_ok()) << back.status().message();
    EXPECT_EQ(back->tokens, s.tokens);
    EXPECT_EQ(back->layers, s.layers);
    EXPECT_EQ(back->layout, s.layout);
    for (size_t cut = 0; cut < bytes.size(); ++cut)
      EXPECT_FALSE(decode_response(std::string_view(bytes).substr(0, cut)).is_ok()) << cut;
  }
  auto id = decode_pull_request(encode_pull_request("kv-1"));
  ASSERT_TRUE(id.is_ok());
  EXPECT_EQ(*id, "kv-1");
  EXPECT_FALSE(decode_pull_request(encode_pull_request("")).is_ok());
  EXPECT_FALSE(decode_pull_request(encode_pull_request(std::string(300, 'x'))).is_ok());
  EXPECT_FALSE(decode_pull_request("HTTP/1.1 200 OK\r\n").is_ok());
}

TEST(KvWire, NamesBadFields) {
  const KvSnapshot s = random_snapshot(2, 2, 4, DType::kBF16, 3, 2);
  std::string bytes = encode_response(s);
  std::string bad = bytes;
  bad[4] = 9;  // version
  EXPECT_NE(decode_response(bad).status().message().find("version"), std::string::npos);
  bad = bytes;
  bad[24] = 7;  // dtype
  EXPECT_NE(decode_response(bad).status().message().find("dtype"), std::string::npos);
  bad = bytes;
  bad[12] = 0;  // zero layers
  EXPECT_NE(decode_response(bad).status().message().find("out of range"), std::string::npos);
  bad = bytes;
  bad[32 + 12] ^= 1;  // first layer's byte count
  EXPECT_NE(decode_response(bad).status().message().find("layer 0"), std::string::npos);
  EXPECT_EQ(
      decode_response(encode_response_head(KvWireStatus::kUnknownId, nullptr)).status().code(),
      ErrorCode::kNotFound);
}

TEST(KvExportStore, TakesOnceExpiresAndBoundsMemory) {
  auto s = std::make_shared<const KvSnapshot>(random_snapshot(2, 2, 4, DType::kF32, 10, 3));
  KvExportStore store(/*ttl_s=*/60.0, /*max_bytes=*/s->bytes() * 2);
  const std::string a = store.put(s), b = store.put(s);
  EXPECT_NE(a, b);
  EXPECT_EQ(store.put(s), "");  // full
  EXPECT_EQ(store.num_entries(), 2u);
  EXPECT_NE(store.take(a), nullptr);
  EXPECT_EQ(store.take(a), nullptr);
  EXPECT_EQ(store.bytes(), s->bytes());
  KvExportStore quick(/*ttl_s=*/0.01);
  const std::string c = quick.put(s);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(quick.take(c), nullptr);
  quick.put(s);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(quick.expire(), 1);
  EXPECT_EQ(quick.bytes(), 0u);
}

class KvTransfer : public ::testing::TestWithParam<KvTransport> {};

}  // namespace

// Test names and failure messages say "tcp" / "ucx".
void PrintTo(KvTransport t, std::ostream* os) {
  *os << kv_transport_name(t);
}

namespace {

std::vector<KvTransport> built_transports() {
  std::vector<KvTransport> t{KvTransport::kTcp};
  if (kv_transport_ucx_built()) t.push_back(KvTransport::kUcx);
  return t;
}

Result<KvSnapshot> pull_now(KvTransferClient& client, KvPullRequest req) {
  std::promise<Result<KvSnapshot>> p;
  auto f = p.get_future();
  client.pull(std::move(req), [&p](Result<KvSnapshot> r) { p.set_value(std::move(r)); });
  return f.get();
}

TEST_P(KvTransfer, MovesSnapshotsBitForBitOverLoopback) {
  KvExportStore store;
  auto server_ptr = make_kv_transfer_server(GetParam(), store, "127.0.0.1", 0);
  KvTransferServer& server = *server_ptr;
  ASSERT_TRUE(server.start().is_ok());
  ASSERT_EQ(server.transport(), GetParam());
  auto client_ptr = make_kv_transfer_client(GetParam());
  ASSERT_TRUE(client_ptr.is_ok()) << client_ptr.status().message();
  KvTransferClient& client = **client_ptr;
  for (int tokens : {1, 17, 300}) {
    auto s =
        std::make_shared<const KvSnapshot>(random_snapshot(4, 2, 16, DType::kBF16, tokens, tokens));
    const std::string id = store.put(s);
    KvPullRequest req{"127.0.0.1", server.port(), id, s->layout, tokens, 10};
    auto got = pull_now(client, req);
    ASSERT_TRUE(got.is_ok()) << got.status().message();
    EXPECT_EQ(got->tokens, s->tokens);
    EXPECT_EQ(got->layers, s->layers);
    // Taken: a second pull finds nothing.
    auto again = pull_now(client, req);
    EXPECT_EQ(again.status().code(), ErrorCode::kNotFound);
  }
  EXPECT_EQ(store.num_entries(), 0u);
  EXPECT_EQ(client.counters().transfers.load(), 3u);
  server.stop();
}

TEST_P(KvTransfer, RefusesAnotherLayoutOrLengthBeforeReadingIt) {
  KvExportStore store;
  auto server_ptr = make_kv_transfer_server(GetParam(), store, "127.0.0.1", 0);
  KvTransferServer& server = *server_ptr;
  ASSERT_TRUE(server.start().is_ok());
  ASSERT_EQ(server.transport(), GetParam());
  auto client_ptr = make_kv_transfer_client(GetParam());
  ASSERT_TRUE(client_ptr.is_ok()) << client_ptr.status().message();
  KvTransferClient& client = **client_ptr;
  auto s = std::make_shared<const KvSnapshot>(random_snapshot(2, 2, 8, DType::kBF16, 9, 5));
  KvPullRequest req{"127.0.0.1", server.port(), store.put(s), {2, 2, 8, DType::kF32}, 9, 10};
  auto got = pull_now(client, req);
  ASSERT_FALSE(got.is_ok());
  EXPECT_NE(got.status().message().find("bf16"), std::string::npos) << got.status().message();
  req.transfer_id = store.put(s);
  req.layout = s->layout;
  req.num_tokens = 10;
  got = pull_now(client, req);
  ASSERT_FALSE(got.is_ok());
  EXPECT_NE(got.status().message().find("9 tokens sent"), std::string::npos);
  server.stop();
}

TEST_P(KvTransfer, CancelMidTransferAndMissingSenderEndCleanly) {
  KvExportStore store;
  auto server_ptr = make_kv_transfer_server(GetParam(), store, "127.0.0.1", 0);
  KvTransferServer& server = *server_ptr;
  ASSERT_TRUE(server.start().is_ok());
  ASSERT_EQ(server.transport(), GetParam());
  auto client_ptr = make_kv_transfer_client(GetParam());
  ASSERT_TRUE(client_ptr.is_ok()) << client_ptr.status().message();
  KvTransferClient& client = **client_ptr;
  // Big enough that the transfer is still running when it is cancelled.
  auto s = std::make_shared<const KvSnapshot>(random_snapshot(16, 8, 64, DType::kF32, 2048, 6));
  std::promise<Result<KvSnapshot>> p;
  auto f = p.get_future();
  auto pull = client.pull({"127.0.0.1", server.port(), store.put(s), s->layout, 2048, 10},
                          [&p](Result<KvSnapshot> r) { p.set_value(std::move(r)); });
  // Cancelled once the sender has taken the entry, i.e. while the K/V is on its way.
  for (int i = 0; i < 100000 && store.num_entries() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  ASSERT_EQ(store.num_entries(), 0u) << "the transfer never started";
  pull->cancel();
  auto got = f.get();
  ASSERT_FALSE(got.is_ok());
  EXPECT_NE(got.status().message().find("cancelled"), std::string::npos);
  EXPECT_EQ(store.num_entries(), 0u);  // the entry went with the connection
  // The sender notices the broken connection.
  for (int i = 0; i < 200 && server.counters().failures.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(server.counters().failures.load(), 1u);
  const int port = server.port();
  server.stop();
  auto gone = pull_now(client, {"127.0.0.1", port, "kv-x", s->layout, 2048, 2});
  ASSERT_FALSE(gone.is_ok());
  EXPECT_EQ(gone.status().code(), ErrorCode::kIoError);
}

TEST_P(KvTransfer, ManyPullsAtOnceEachGetTheirOwnSnapshot) {
  KvExportStore store;
  auto server_ptr = make_kv_transfer_server(GetParam(), store, "127.0.0.1", 0);
  KvTransferServer& server = *server_ptr;
  ASSERT_TRUE(server.start().is_ok());
  auto client_ptr = make_kv_transfer_client(GetParam());
  ASSERT_TRUE(client_ptr.is_ok()) << client_ptr.status().message();
  KvTransferClient& client = **client_ptr;
  constexpr int kPulls = 24;
  std::vector<std::shared_ptr<const KvSnapshot>> sent;
  std::vector<std::promise<Result<KvSnapshot>>> got(kPulls);
  for (int i = 0; i < kPulls; ++i) {
    // Lengths from 1 token to a few hundred KiB a layer: eager and rendezvous messages mix.
    const int tokens = 1 + i * 97;
    sent.push_back(std::make_shared<const KvSnapshot>(
        random_snapshot(3, 4, 32, i % 2 ? DType::kBF16 : DType::kF32, tokens, 100 + i)));
    client.pull(
        {"127.0.0.1", server.port(), store.put(sent.back()), sent.back()->layout, tokens, 10},
        [&got, i](Result<KvSnapshot> r) { got[size_t(i)].set_value(std::move(r)); });
  }
  for (int i = 0; i < kPulls; ++i) {
    auto r = got[size_t(i)].get_future().get();
    ASSERT_TRUE(r.is_ok()) << i << ": " << r.status().message();
    EXPECT_EQ(r->tokens, sent[size_t(i)]->tokens) << i;
    EXPECT_EQ(r->layers, sent[size_t(i)]->layers) << i;
  }
  EXPECT_EQ(client.counters().transfers.load(), uint64_t(kPulls));
  EXPECT_EQ(store.num_entries(), 0u);
  server.stop();
}

TEST_P(KvTransfer, ReachesASenderThatRestartedOnTheSamePort) {
  // The UCX client keeps an endpoint per sender: one made stale by a restart must not fail
  // the next pull.
  auto client_ptr = make_kv_transfer_client(GetParam());
  ASSERT_TRUE(client_ptr.is_ok()) << client_ptr.status().message();
  KvTransferClient& client = **client_ptr;
  auto s = std::make_shared<const KvSnapshot>(random_snapshot(2, 2, 8, DType::kBF16, 7, 9));
  int port = 0;
  for (int round = 0; round < 3; ++round) {
    KvExportStore store;
    auto server = make_kv_transfer_server(GetParam(), store, "127.0.0.1", port);
    Status started = server->start();
    for (int i = 0; i < 50 && !started.is_ok(); ++i) {  // the port may linger a moment
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      server = make_kv_transfer_server(GetParam(), store, "127.0.0.1", port);
      started = server->start();
    }
    ASSERT_TRUE(started.is_ok()) << started.message();
    port = server->port();
    auto got = pull_now(client, {"127.0.0.1", port, store.put(s), s->layout, 7, 10});
    ASSERT_TRUE(got.is_ok()) << "round " << round << ": " << got.status().message();
    EXPECT_EQ(got->layers, s->layers);
    server->stop();
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, KvTransfer, ::testing::ValuesIn(built_transports()),
                         [](const auto& info) {
                           return std::string(kv_transport_name(info.param));
                         });

TEST(KvTransport, ParsesNamesAndSaysWhatIsBuilt) {
  EXPECT_EQ(*parse_kv_transport("tcp"), KvTransport::kTcp);
  EXPECT_EQ(parse_kv_transport("rdma").status().code(), ErrorCode::kInvalidArgument);
  if (kv_transport_ucx_built()) {
    EXPECT_EQ(*parse_kv_transport("ucx"), KvTransport::kUcx);
    EXPECT_EQ(default_kv_transport(), KvTransport::kUcx);
  } else {
    EXPECT_EQ(parse_kv_transport("ucx").status().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(default_kv_transport(), KvTransport::kTcp);
  }
}

}  // namespace
}  // namespace xy::cluster
