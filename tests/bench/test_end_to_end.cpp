// End to end: the load generator against an in-test OpenAI-compatible SSE server (Boost.Beast)
// that streams a known timing pattern; checks TTFT / TPOT, concurrency cap, errors, reports.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/load_generator.h"
#include "bench/report.h"
#include "bench/server_info.h"

namespace xy::bench {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// A tiny streaming completions server: one thread per connection; waits ttft_ms, then sends
// max_tokens one-token chunks itl_ms apart, a usage chunk and [DONE], chunked-encoded. Model
// "bad" gets a 400 OpenAI error.
class FakeServer {
 public:
  FakeServer(int ttft_ms, int itl_ms) : ttft_ms_(ttft_ms), itl_ms_(itl_ms) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~FakeServer() {
    // close() does not wake a blocked accept(): connect once so the loop sees stop_.
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket wake(io_);
    wake.connect({asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)}, ec);
    thread_.join();
    acceptor_.close(ec);
    for (auto& t : sessions_) t.join();
  }
  int port() const { return port_; }
  int max_concurrent() const { return max_concurrent_; }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::vector<std::string> targets() {
    std::lock_guard<std::mutex> lock(mu_);
    return targets_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      sessions_.emplace_back([this, sock = std::move(s)]() mutable { serve(std::move(sock)); });
    }
  }

  void send_chunk(tcp::socket& s, const std::string& event) {
    char len[16];
    std::snprintf(len, sizeof len, "%zx\r\n", event.size());
    asio::write(s, asio::buffer(std::string(len) + event + "\r\n"));
  }

  void serve(tcp::socket s) {
    const int now = ++concurrent_;
    for (int m = max_concurrent_; now > m && !max_concurrent_.compare_exchange_weak(m, now);) {
    }
    // A request stops counting before its last bytes go out: once the client has read them it
    // may start the next request while this thread is still closing the socket.
    bool counted = true;
    auto leave = [&] {
      if (counted) --concurrent_;
      counted = false;
    };
    try {
      boost::beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req);
      if (req.method() == http::verb::get && req.target() == "/v1/models") {
        const std::string models = R"({"object":"list","data":[{"id":"other","max_model_len":100},)"
                                   R"({"id":"fake","object":"model","max_model_len":2048}]})";
        asio::write(s, asio::buffer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    "Content-Length: " +
                                    std::to_string(models.size()) +
                                    "\r\nConnection: close\r\n\r\n" + models));
        leave();
        return;
      }
      auto body = nlohmann::json::parse(req.body());
      {
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(body);
        targets_.push_back(std::string(req.target()));
      }
      if (body["model"] == "bad") {
        const std::string err =
            R"({"error":{"message":"model 'bad' does not exist","type":"invalid_request_error"}})";
        leave();
        asio::write(
            s, asio::buffer("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                            "Content-Length: " +
                            std::to_string(err.size()) + "\r\nConnection: close\r\n\r\n" + err));
      } else {
        asio::write(s, asio::buffer(
                           std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")));
        send_chunk(s, ": ping\n\n");
        const int n = body["max_tokens"].get<int>();
        std::this_thread::sleep_for(std::chrono::milliseconds(ttft_ms_));
        for (int i = 0; i < n; ++i) {
          if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(itl_ms_));
          send_chunk(
              s,
              "data: {\"choices\":[{\"index\":0,\"text\":\" tok\",\"finish_reason\":null}]}\n\n");
        }
        leave();
        send_chunk(s,
                   "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":" +
                       std::to_string(n) + "}}\n\ndata: [DONE]\n\n");
        asio::write(s, asio::buffer(std::string("0\r\n\r\n")));
      }
      boost::system::error_code ec;
      s.shutdown(tcp::socket::shutdown_both, ec);
    } catch (const std::exception&) {
    }
    leave();
  }

  int ttft_ms_, itl_ms_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> concurrent_{0}, max_concurrent_{0};
  std::thread thread_;
  std::vector<std::thread> sessions_;
  std::mutex mu_;
  std::vector<nlohmann::json> bodies_;
  std::vector<std::string> targets_;
};

std::vector<PreparedRequest> workload(int n, double gap_s, int max_tokens,
                                      const std::string& model) {
  std::vector<PreparedRequest> out;
  GenerationParams p;
  p.model = model;
  p.max_tokens = max_tokens;
  for (int i = 0; i < n; ++i)
    out.push_back(
        {i * gap_s, make_request_body(Endpoint::kCompletions, "hello", p), 5, max_tokens});
  return out;
}

TEST(EndToEnd, TimingPatternConcurrencyAndReports) {
  constexpr int kTtftMs = 80, kItlMs = 25, kTokens = 6;
  FakeServer server(kTtftMs, kItlMs);
  LoadOptions opts;
  opts.url = *parse_url("http://127.0.0.1:" + std::to_string(server.port()));
  opts.max_concurrency = 2;
  int progress_calls = 0;
  opts.on_progress = [&](const Progress&) { ++progress_calls; };
  opts.progress_interval_s = 0.05;
  auto reqs = workload(5, 0.0, kTokens, "fake");
  auto run = run_load(reqs, opts);
  ASSERT_TRUE(run) << run.status().to_string();
  EXPECT_LE(server.max_concurrent(), 2);
  EXPECT_GE(progress_calls, 2);
  ASSERT_EQ(run->records.size(), 5u);
  for (const auto& r : run->records) {
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.output_tokens, kTokens);
    EXPECT_EQ(r.prompt_tokens, 42);
    // The server sleeps these; scheduling can only add time (generous upper bounds for
    // a loaded machine and sanitizers).
    EXPECT_GE(r.ttft_s * 1e3, kTtftMs - 1);
    EXPECT_LT(r.ttft_s * 1e3, kTtftMs + 2000);
    EXPECT_GE(tpot_s(r) * 1e3, kItlMs - 1);
    EXPECT_LT(tpot_s(r) * 1e3, kItlMs + 500);
    ASSERT_EQ(r.itl_s.size(), static_cast<size_t>(kTokens - 1));
    EXPECT_EQ(r.chunks.size(), static_cast<size_t>(kTokens));
  }
  // Three waves of at most two requests: the last one cannot start before two full requests.
  const double one_request_s = (kTtftMs + (kTokens - 1) * kItlMs) / 1e3;
  EXPECT_GE(run->duration_s, 3 * one_request_s - 0.01);
  EXPECT_GE(run->records[4].sent_s, 2 * one_request_s - 0.01);

  auto targets = server.targets();
  for (const auto& t : targets) EXPECT_EQ(t, "/v1/completions");
  for (const auto& b : server.bodies()) {
    EXPECT_EQ(b["ignore_eos"], true);
    EXPECT_EQ(b["stream_options"]["include_usage"], true);
  }

  const Summary s = summarize(run->records, run->duration_s, {kTtftMs + 2000.0, kItlMs + 500.0});
  EXPECT_EQ(s.completed, 5);
  EXPECT_EQ(s.good_requests, 5);
  EXPECT_EQ(s.output_tokens, 5 * kTokens);
  EXPECT_GE(s.tpot_ms.p50, kItlMs - 1);
  RunInfo info{"http://127.0.0.1", "fake", "completions", "poisson", "burst", 2, "now"};
  const auto dir =
      std::filesystem::temp_directory_path() / ("xy_bench_e2e_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "r.json") << format_json(info, s, run->records);
    std::ofstream(dir / "r.html") << format_html(info, s, run->records);
  }
  std::ifstream jf(dir / "r.json");
  auto j = nlohmann::json::parse(jf);
  EXPECT_EQ(j["summary"]["completed"], 5);
  EXPECT_EQ(j["requests"].size(), 5u);
  EXPECT_GE(j["summary"]["ttft_ms"]["p50"].get<double>(), kTtftMs - 1);
  EXPECT_FALSE(j["timeline"]["buckets"].empty());
  std::ifstream hf(dir / "r.html");
  std::string html((std::istreambuf_iterator<char>(hf)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("TTFT CDF (n = 5)"), std::string::npos);
  EXPECT_NE(html.find("Output throughput"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, static
  const std::string table = format_table(info, s);
  EXPECT_NE(table.find("Successful requests:              5 / 5"), std::string::npos) << table;
  std::filesystem::remove_all(dir);
}

TEST(EndToEnd, MaxModelLenFromModelsEndpoint) {
  FakeServer server(1, 1);
  const Url url = *parse_url("http://127.0.0.1:" + std::to_string(server.port()));
  auto len = fetch_max_model_len(url, "fake", "", 10);
  ASSERT_TRUE(len) << len.status().to_string();
  ASSERT_TRUE(len->has_value());
  EXPECT_EQ(**len, 2048);
  auto first = fetch_max_model_len(url, "unknown-name", "", 10);
  ASSERT_TRUE(first && first->has_value());
  EXPECT_EQ(**first, 100);  // no entry with that id: the first entry's
}

TEST(EndToEnd, HttpErrorsAndRefusedConnections) {
  FakeServer server(1, 1);
  LoadOptions opts;
  opts.url = *parse_url("http://127.0.0.1:" + std::to_string(server.port()));
  auto run = run_load(workload(3, 0.01, 2, "bad"), opts);
  ASSERT_TRUE(run);
  for (const auto& r : run->records) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "HTTP 400: model 'bad' does not exist");
  }
  const Summary s = summarize(run->records, run->duration_s, {});
  EXPECT_EQ(s.failed, 3);
  EXPECT_EQ(s.errors.at("HTTP 400: model 'bad' does not exist"), 3);

  // A port nobody listens on: every request fails with a transport error, nothing hangs.
  uint16_t closed_port;
  {
    asio::io_context io;
    tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  opts.url = *parse_url("http://127.0.0.1:" + std::to_string(closed_port));
  auto refused = run_load(workload(2, 0, 2, "fake"), opts);
  ASSERT_TRUE(refused);
  for (const auto& r : refused->records) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.rfind("transport: ", 0), 0u) << r.error;
  }
}

}  // namespace
}  // namespace xy::bench
