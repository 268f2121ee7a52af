// The HTTP front end: an acceptor plus a small fixed pool of I/O threads running every
// connection asynchronously (no thread per connection). Requests go to one RequestHandler.
//
// Lifetime: listen() binds, start() launches the I/O threads, stop_accepting() closes the
// acceptor (existing connections continue), stop() ends all I/O and joins the threads.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "server/http_session.h"

namespace xy::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0 = any free port (see HttpServer::port())
  int io_threads = 2;
  HttpSessionLimits limits;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, RequestHandler handler);
  ~HttpServer();

  // Binds and listens. Errors: kInvalidArgument for a bad host, kIoError when the port is taken.
  Status listen();
  int port() const { return bound_port_; }
  void start();
  void stop_accepting();
  void stop();

  boost::asio::io_context& io() { return io_; }
  const ConnectionTracker& connections() const { return *tracker_; }

 private:
  void accept_next();

  HttpServerOptions options_;
  RequestHandler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<ConnectionTracker> tracker_ = std::make_shared<ConnectionTracker>();
  std::vector<std::thread> threads_;
  int bound_port_ = 0;
};

}  // namespace xy::server
