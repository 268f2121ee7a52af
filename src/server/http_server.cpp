#include "server/http_server.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

namespace xy::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

HttpServer::HttpServer(HttpServerOptions options, RequestHandler handler)
    : options_(std::move(options)), handler_(std::move(handler)), acceptor_(io_) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::listen() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec)
    return invalid_argument("--host '" + options_.host + "' is not an IP address: " + ec.message());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return io_error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                    ": " + ec.message());
  }
  bound_port_ = acceptor_.local_endpoint().port();
  return Status::ok();
}

void HttpServer::start() {
  accept_next();
  const int n = std::max(1, options_.io_threads);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { io_.run(); });
}

void HttpServer::accept_next() {
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor_.async_accept(asio::make_strand(io_),
                         [this](boost::system::error_code ec, tcp::socket s) {
                           if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
                           if (!ec) {
                             boost::system::error_code ignored;
                             s.set_option(tcp::no_delay(true), ignored);
                             start_http_session(std::move(s), options_.limits, handler_, tracker_);
                           } else {
                             // EMFILE and friends: keep accepting; the OS recovers as connections
                             // close.
                             spdlog::warn("accept failed: {}", ec.message());
                           }
                           accept_next();
                         });
}

void HttpServer::stop_accepting() {
  asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
}

void HttpServer::stop() {
  if (threads_.empty()) return;
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace xy::server
