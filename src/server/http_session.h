// One client connection: reads requests (Boost.Beast, asynchronous, on a strand), hands each to
// the handler with a ResponseSink, writes the response or SSE stream, and watches the socket while
// a response is pending so that a disconnect is noticed (and the generation aborted) at once,
// not at the next write. Output not yet accepted by the client is bounded per connection.
//
// Threads: every socket operation runs on the connection's strand; ResponseSink methods post to
// it, so the engine thread never blocks on a client.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>

#include "server/http_exchange.h"

namespace xy::server {

struct HttpSessionLimits {
  size_t max_request_bytes = 16u << 20;  // body; larger -> 413
  size_t max_header_bytes = 64u << 10;   // request line + headers; larger -> 431
  size_t max_pending_output = 8u << 20;  // unwritten bytes before a stream is cut off
  int request_read_timeout_s = 30;       // a request must arrive completely within this
  int keep_alive_idle_timeout_s = 60;
};

// Counts live connections (for shutdown and metrics); owned by the listener.
struct ConnectionTracker {
  std::atomic<int> open{0};
  std::atomic<int> active_exchanges{0};  // requests whose response has not completed
};

class HttpSession;
// Starts serving an accepted socket; the session keeps itself alive while I/O is pending.
void start_http_session(boost::asio::ip::tcp::socket socket, const HttpSessionLimits& limits,
                        RequestHandler handler, std::shared_ptr<ConnectionTracker> tracker);

}  // namespace xy::server
