// What a request handler sees of HTTP: the parsed request, and a thread-safe sink for exactly one
// response (a complete one, or a server-sent-event stream). Handlers never touch sockets, so the
// engine thread may push stream events directly: they are queued on the connection's strand and
// never block the caller.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace xy::server {

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // path without the query string
  std::string query;                                         // after '?', may be empty
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string remote;  // "ip:port" of the client, for logs

  // First header with this lowercase name; "" when absent.
  const std::string& header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. Retry-After
};

// One response per request. All methods may be called from any thread; calls after the
// connection has closed are ignored. Lifetime: shared by the handler and the connection.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // A complete response; ends the exchange.
  virtual void send(HttpResponse response) = 0;
  // Starts a text/event-stream response (status 200, chunked). Then event()* and end_stream().
  virtual void start_stream() = 0;
  // Queues one SSE event: "data: <payload>\n\n". Returns false when the client is gone or its
  // unread output exceeds the per-connection bound (the caller should abort the generation).
  virtual bool event(const std::string& payload) = 0;
  virtual void end_stream() = 0;
  // Called once (on an I/O thread) if the client disconnects before the exchange ended. Set it
  // before starting work whose abort it triggers; if the client is already gone it runs at once.
  virtual void on_disconnect(std::function<void()> callback) = 0;
  virtual bool client_gone() const = 0;
};

using RequestHandler = std::function<void(HttpRequest request, std::shared_ptr<ResponseSink>)>;

}  // namespace xy::server
