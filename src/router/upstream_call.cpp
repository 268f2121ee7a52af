#include "router/upstream_call.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <limits>

#include "core/seconds.h"

namespace xy::router {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {}  // namespace

UpstreamCall::UpstreamCall(asio::any_io_executor executor, bench::Url url, double timeout_s)
    : stream_(std::move(executor)), url_(std::move(url)), timeout_s_(timeout_s) {}

Status UpstreamCall::transport_error(const boost::system::error_code& ec, const char* phase) const {
  const std::string where = url_.host + ":" + url_.port;
  if (cancelled_) return io_error(where + ": cancelled");
  if (ec == beast::error::timeout) return io_error(where + ": no progress while " + phase);
  return io_error(where + ": " + phase + ": " + ec.message());
}

asio::awaitable<Result<UpstreamHead>> UpstreamCall::send(const UpstreamRequest& request) {
  boost::system::error_code ec;
  tcp::resolver resolver(stream_.get_executor());
  auto endpoints = co_await resolver.async_resolve(url_.host, url_.port,
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return io_error("cannot resolve " + url_.host + ": " + ec.message());
  stream_.expires_after(steady_seconds(std::min(timeout_s_, 10.0)));
  co_await stream_.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec || cancelled_) {
    co_return transport_error(ec, "connecting");
  }
  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(url_.base_path + request.target);
  req.version(11);
  req.set(http::field::host, url_.host + ":" + url_.port);
  req.set(http::field::user_agent, "xyserve-router");
  for (const auto& [k, v] : request.headers) req.set(k, v);
  req.keep_alive(false);
  if (request.method != "GET" || !request.body.empty()) {
    if (!request.body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = request.body;
    req.prepare_payload();
  }
  stream_.expires_after(steady_seconds(timeout_s_));
  co_await http::async_write(stream_, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec || cancelled_) {
    co_return transport_error(ec, "sending");
  }
  parser_.emplace();
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  stream_.expires_after(steady_seconds(timeout_s_));
  co_await http::async_read_header(stream_, buffer_, *parser_,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec || cancelled_) co_return transport_error(ec, "waiting for the response");
  UpstreamHead head;
  head.status = static_cast<int>(parser_->get().result_int());
  head.content_type = std::string(parser_->get()[http::field::content_type]);
  head.retry_after = std::string(parser_->get()[http::field::retry_after]);
  co_return head;
}

asio::awaitable<Result<std::string>> UpstreamCall::read_body(size_t max_bytes) {
  boost::system::error_code ec;
  while (!parser_->is_done()) {
    stream_.expires_after(steady_seconds(timeout_s_));
    co_await http::async_read_some(stream_, buffer_, *parser_,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::end_of_stream) break;  // close-delimited body
    if (ec || cancelled_) co_return transport_error(ec, "reading the response");
    if (parser_->get().body().size() > max_bytes)
      co_return io_error("response larger than " + std::to_string(max_bytes) + " bytes");
  }
  co_return std::move(parser_->get().body());
}

asio::awaitable<Result<std::vector<std::string>>> UpstreamCall::next_events() {
  std::vector<std::string> events;
  boost::system::error_code ec;
  while (events.empty() && !stream_done_) {
    if (parser_->is_done()) {
      events = sse_.finish();
      stream_done_ = true;
      break;
    }
    stream_.expires_after(steady_seconds(timeout_s_));
    co_await http::async_read_some(stream_, buffer_, *parser_,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::end_of_stream) {
      events = sse_.finish();
      stream_done_ = true;
      break;
    }
    if (ec || cancelled_) co_return transport_error(ec, "streaming");
    std::string& body = parser_->get().body();
    events = sse_.feed(body);
    body.clear();
  }
  co_return events;
}

void UpstreamCall::cancel() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->cancelled_ = true;
    beast::error_code ignored;
    self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    self->stream_.close();
  });
}

asio::awaitable<Result<SimpleResponse>> http_get(asio::any_io_executor executor,
                                                 const bench::Url& url, const std::string& target,
                                                 double timeout_s, size_t max_bytes) {
  auto call = std::make_shared<UpstreamCall>(executor, url, timeout_s);
  UpstreamRequest req;
  req.method = "GET";
  req.target = target;
  auto head = co_await call->send(req);
  if (!head.is_ok()) co_return head.status();
  auto body = co_await call->read_body(max_bytes);
  if (!body.is_ok()) co_return body.status();
  co_return SimpleResponse{head->status, std::move(*body)};
}

}  // namespace xy::router
