#include "bench/load_generator.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>

#include "bench/sse_parser.h"
#include "bench/stream_recorder.h"
#include "core/seconds.h"

namespace xy::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct RunState {
  const std::vector<PreparedRequest>& requests;
  const LoadOptions& opts;
  tcp::resolver::results_type endpoints;
  std::string target;
  Clock::time_point t0;
  std::vector<RequestRecord> records;
  Progress progress;
  std::unique_ptr<asio::steady_timer> slot_freed;  // cancelled to wake the dispatcher
  double last_end_s = 0;
  bool all_dispatched = false;

  double now_s() const { return std::chrono::duration<double>(Clock::now() - t0).count(); }
};

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

// One request: connect, POST, stream the SSE body into the recorder. Never throws: transport
// errors become rec.error.
asio::awaitable<void> stream_one(RunState& st, size_t i) {
  RequestRecord& rec = st.records[i];
  const PreparedRequest& req = st.requests[i];
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  const auto timeout = steady_seconds(st.opts.request_timeout_s);
  rec.sent_s = st.now_s();
  StreamRecorder recorder(rec, st.opts.tokenizer);
  try {
    stream.expires_after(timeout);
    co_await stream.async_connect(st.endpoints, asio::use_awaitable);
    http::request<http::string_body> hreq{http::verb::post, st.target, 11};
    hreq.set(http::field::host, st.opts.url.host + ":" + st.opts.url.port);
    hreq.set(http::field::user_agent, "xyserve-bench");
    hreq.set(http::field::content_type, "application/json");
    hreq.set(http::field::accept, "text/event-stream");
    if (!st.opts.api_key.empty()) hreq.set(http::field::authorization, "Bearer " + st.opts.api_key);
    hreq.keep_alive(false);
    hreq.body() = req.body;
    hreq.prepare_payload();
    stream.expires_after(timeout);
    co_await http::async_write(stream, hreq, asio::use_awaitable);

    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    // Not boost::none: Beast 1.74 compares a Content-Length against the empty optional and
    // reports body_limit for every sized body.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    stream.expires_after(timeout);
    co_await http::async_read_header(stream, buf, parser, asio::use_awaitable);
    const unsigned status = parser.get().result_int();
    if (status != 200) {
      while (!parser.is_done() && parser.get().body().size() < 65536) {
        stream.expires_after(timeout);
        co_await http::async_read_some(stream, buf, parser, asio::use_awaitable);
      }
      rec.error =
          "HTTP " + std::to_string(status) + ": " + error_message_from_body(parser.get().body());
    } else {
      SseParser sse;
      bool good = true;
      while (good && !parser.is_done()) {
        stream.expires_after(timeout);
        co_await http::async_read_some(stream, buf, parser, asio::use_awaitable);
        const double t = st.now_s();
        std::string& body = parser.get().body();
        for (const std::string& ev : sse.feed(body)) good = good && recorder.on_event(ev, t);
        body.clear();  // the string body reader appends; consumed bytes go
      }
      if (good)
        for (const std::string& ev : sse.finish()) recorder.on_event(ev, st.now_s());
    }
  } catch (const boost::system::system_error& e) {
    rec.error =
        e.code() == beast::error::timeout
            ? "timeout: no progress for " + format_seconds(st.opts.request_timeout_s)
            : "transport: " + e.code().message();
  } catch (const std::exception& e) {
    rec.error = std::string("client: ") + e.what();
  }
  const double end = st.now_s();
  if (rec.error.empty()) {
    recorder.finish(end);
  } else {
    rec.e2e_s = end - rec.sent_s;
  }
  if (rec.prompt_tokens == 0) rec.prompt_tokens = req.prompt_tokens;
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> tracked(RunState& st, size_t i) {
  ++st.progress.in_flight;
  ++st.progress.sent;
  co_await stream_one(st, i);
  const RequestRecord& rec = st.records[i];
  --st.progress.in_flight;
  if (rec.ok) {
    ++st.progress.completed;
    st.progress.output_tokens += rec.output_tokens;
  } else {
    ++st.progress.failed;
  }
  st.last_end_s = std::max(st.last_end_s, st.now_s());
  st.slot_freed->cancel();
}

asio::awaitable<void> dispatch(RunState& st) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer wait(ex);
  const int cap = st.opts.max_concurrency;
  for (size_t i = 0; i < st.requests.size(); ++i) {
    wait.expires_at(st.t0 + steady_seconds(st.requests[i].arrival_s));
    co_await wait.async_wait(asio::use_awaitable);
    while (cap > 0 && st.progress.in_flight >= cap) {
      st.slot_freed->expires_at(Clock::time_point::max());
      boost::system::error_code ec;
      co_await st.slot_freed->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    asio::co_spawn(ex, tracked(st, i), asio::detached);
  }
  st.all_dispatched = true;
}

asio::awaitable<void> report_progress(RunState& st) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer tick(ex);
  while (!(st.all_dispatched && st.progress.in_flight == 0)) {
    tick.expires_after(steady_seconds(st.opts.progress_interval_s));
    co_await tick.async_wait(asio::use_awaitable);
    st.progress.elapsed_s = st.now_s();
    if (st.opts.on_progress) st.opts.on_progress(st.progress);
  }
}

}  // namespace

Result<RunResult> run_load(const std::vector<PreparedRequest>& requests, const LoadOptions& opts) {
  asio::io_context io(1);
  RunState st{requests, opts, {}, endpoint_path(opts.url, opts.endpoint), {}, {}, {}, {}, 0, false};
  {
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    st.endpoints = resolver.resolve(opts.url.host, opts.url.port, ec);
    if (ec)
      return not_found("cannot resolve " + opts.url.host + ":" + opts.url.port + ": " +
                       ec.message());
  }
  st.records.resize(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    st.records[i].index = static_cast<int>(i);
    st.records[i].scheduled_s = requests[i].arrival_s;
    st.records[i].expected_output_tokens = requests[i].max_tokens;
  }
  st.progress.total = static_cast<int>(requests.size());
  st.slot_freed = std::make_unique<asio::steady_timer>(io);
  st.t0 = Clock::now();
  asio::co_spawn(io, dispatch(st), asio::detached);
  if (opts.on_progress) asio::co_spawn(io, report_progress(st), asio::detached);
  io.run();
  RunResult out;
  out.duration_s = std::max(st.last_end_s, 1e-9);
  st.progress.elapsed_s = st.now_s();
  if (opts.on_progress) opts.on_progress(st.progress);
  out.records = std::move(st.records);
  return out;
}

}  // namespace xy::bench
