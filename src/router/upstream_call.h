// One HTTP exchange with a replica, read as it arrives: connect and send, then the response
// head, then either the whole body or its server-sent events one batch at a time. Runs as
// coroutines on one strand; cancel() may be called from any thread (a client that went away
// closes the replica connection, and the replica aborts the generation and frees its KV).
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/dynamic_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/openai_protocol.h"
#include "bench/sse_parser.h"
#include "core/status.h"

namespace xy::router {

struct UpstreamRequest {
  std::string method = "POST";
  std::string target;  // path and query
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct UpstreamHead {
  int status = 0;
  std::string content_type;
  std::string retry_after;  // "" when absent
  bool event_stream() const { return content_type.rfind("text/event-stream", 0) == 0; }
};

class UpstreamCall : public std::enable_shared_from_this<UpstreamCall> {
 public:
  // `executor` must be a strand (or single-threaded); every method runs on it.
  UpstreamCall(boost::asio::any_io_executor executor, bench::Url url, double timeout_s);

  // kIoError when the replica cannot be reached, the connection breaks or a phase makes no
  // progress for timeout_s. No response head means no output reached the client: retryable.
  boost::asio::awaitable<Result<UpstreamHead>> send(const UpstreamRequest& request);
  // The whole body (after send); at most max_bytes.
  boost::asio::awaitable<Result<std::string>> read_body(size_t max_bytes);
  // The next events of an event-stream body (after send); an empty vector with ok status means
  // the stream ended.
  boost::asio::awaitable<Result<std::vector<std::string>>> next_events();
  // Closes the connection; pending and later operations fail. Thread-safe, idempotent.
  void cancel();
  bool cancelled() const { return cancelled_; }

 private:
  Status transport_error(const boost::system::error_code& ec, const char* phase) const;

  boost::beast::tcp_stream stream_;
  bench::Url url_;
  double timeout_s_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  bench::SseParser sse_;
  bool stream_done_ = false;
  bool cancelled_ = false;  // strand-only
};

// A GET to a replica with a deadline (health checks, /metrics, /v1/models).
struct SimpleResponse {
  int status = 0;
  std::string body;
};
boost::asio::awaitable<Result<SimpleResponse>> http_get(boost::asio::any_io_executor executor,
                                                        const bench::Url& url,
                                                        const std::string& target, double timeout_s,
                                                        size_t max_bytes);

}  // namespace xy::router
