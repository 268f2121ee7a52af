#include "server/http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <deque>
#include <optional>
#include <string_view>

#include "server/protocol/api_error.h"

namespace xy::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

const std::string& HttpRequest::header(const std::string& lower_name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return kEmpty;
}

namespace {

std::string header_block(int status, bool keep_alive,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " +
                  std::string(http::obsolete_reason(http::int_to_status(unsigned(status)))) +
                  "\r\n";
  h += "Server: xyserve\r\n";
  for (const auto& [k, v] : headers) h += k + ": " + v + "\r\n";
  h += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  return h;
}

}  // namespace

class HttpSession : public ResponseSink, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, const HttpSessionLimits& limits, RequestHandler handler,
              std::shared_ptr<ConnectionTracker> tracker)
      : stream_(std::move(socket)),
        limits_(limits),
        handler_(std::move(handler)),
        tracker_(std::move(tracker)) {
    tracker_->open.fetch_add(1);
  }
  ~HttpSession() override {
    if (in_exchange_) tracker_->active_exchanges.fetch_sub(1);
    tracker_->open.fetch_sub(1);
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

  // ResponseSink -----------------------------------------------------------------------------
  void send(HttpResponse response) override {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), r = std::move(response)]() mutable {
                 self->do_send(std::move(r));
               });
  }
  void start_stream() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->do_start_stream(); });
  }
  bool event(const std::string& payload) override {
    if (gone_.load()) return false;
    // Chunked framing around the SSE record: "<hex len>\r\ndata: ...\n\n\r\n".
    std::string record = "data: " + payload + "\n\n";
    char len[32];
    std::snprintf(len, sizeof(len), "%zx\r\n", record.size());
    std::string chunk = len + record + "\r\n";
    const size_t queued = queued_bytes_.fetch_add(chunk.size()) + chunk.size();
    if (queued > limits_.max_pending_output) {
      // The client reads slower than we generate: cut it off rather than buffer without bound.
      asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
      return false;
    }
    asio::post(stream_.get_executor(), [self = shared_from_this(), c = std::move(chunk)]() mutable {
      self->enqueue(std::move(c));
    });
    return true;
  }
  void end_stream() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->streaming_ || self->closed_) return;
      self->queued_bytes_.fetch_add(5);
      self->enqueue("0\r\n\r\n");
      self->response_complete_ = true;
      self->maybe_finish_exchange();
    });
  }
  void on_disconnect(std::function<void()> callback) override {
    asio::dispatch(stream_.get_executor(),
                   [self = shared_from_this(), cb = std::move(callback)]() mutable {
                     if (self->gone_.load()) {
                       if (cb) cb();
                       return;
                     }
                     self->on_disconnect_ = std::move(cb);
                   });
  }
  bool client_gone() const override { return gone_.load(); }

 private:
  // Reading ---------------------------------------------------------------------------------
  void read_request() {
    if (closed_) return;
    parser_.emplace();
    head_request_ = false;  // until this request's method is known (error replies have a body)
    parser_->body_limit(limits_.max_request_bytes);
    parser_->header_limit(std::uint32_t(limits_.max_header_bytes));
    stream_.expires_after(std::chrono::seconds(first_request_ ? limits_.request_read_timeout_s
                                                              : limits_.keep_alive_idle_timeout_s));
    // The header first: a client that sent "Expect: 100-continue" (curl does for bodies over
    // 1 KiB) holds the body back until it hears "100 Continue", or for a second if it never does.
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);  // incl. a declared Content-Length over the limit: 413, no 100
    const auto expect = parser_->get()[http::field::expect];
    if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code wec, size_t) {
                          if (wec) return self->close_now();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    first_request_ = false;
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return close_now();
    }
    if (ec == http::error::body_limit) {
      return reply_error_and_close(ApiError{413, "invalid_request_error",
                                            "request body exceeds the limit of " +
                                                std::to_string(limits_.max_request_bytes) +
                                                " bytes",
                                            "", "request_too_large"});
    }
    if (ec == http::error::header_limit) {
      return reply_error_and_close(
          ApiError{431, "invalid_request_error", "request headers are too large", "", ""});
    }
    if (ec) {
      return reply_error_and_close(
          bad_request(std::string("malformed HTTP request: ") + ec.message()));
    }
    stream_.expires_never();
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    head_request_ = req.method == "HEAD";
    std::string target(msg.target());
    if (size_t q = target.find('?'); q != std::string::npos) {
      req.query = target.substr(q + 1);
      target.resize(q);
    }
    req.target = std::move(target);
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    beast::error_code ep_ec;
    auto ep = stream_.socket().remote_endpoint(ep_ec);
    if (!ep_ec) req.remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    parser_.reset();

    begin_exchange();
    // A pipelined next request is already buffered: it is read after this response. Otherwise
    // watch the socket so a disconnect aborts the work at once.
    if (buffer_.size() == 0) watch_socket();
    handler_(std::move(req), shared_from_this());
  }

  void begin_exchange() {
    in_exchange_ = true;
    response_started_ = response_complete_ = streaming_ = false;
    queued_bytes_.store(0);
    tracker_->active_exchanges.fetch_add(1);
  }

  // While the handler works, a pending read tells us at once if the client goes away. Bytes
  // that arrive (a pipelined next request) stay in buffer_ for the next read_request().
  void watch_socket() {
    watching_ = true;
    auto space = buffer_.prepare(4096);
    stream_.socket().async_read_some(space,
                                     [self = shared_from_this()](beast::error_code ec, size_t n) {
                                       self->watching_ = false;
                                       if (ec) return self->close_now();
                                       self->buffer_.commit(n);
                                       if (self->in_exchange_) return;
                                       if (self->keep_alive_)
                                         self->read_request();
                                       else
                                         self->drain_and_close();
                                     });
  }

  // Writing ---------------------------------------------------------------------------------
  void do_send(HttpResponse r) {
    if (closed_ || response_started_) return;
    response_started_ = true;
    if (draining_body_) keep_alive_ = false;
    auto headers = r.headers;
    if (r.status != 304) {  // a 304 has no body, and its headers describe the cached one
      headers.emplace_back("Content-Type", r.content_type);
      headers.emplace_back("Content-Length", std::to_string(r.body.size()));
    }
    // HEAD gets GET's headers and no body: a body would be read as the next response.
    std::string out =
        header_block(r.status, keep_alive_, headers) + "\r\n" + (head_request_ ? "" : r.body);
    queued_bytes_.fetch_add(out.size());
    enqueue(std::move(out));
    response_complete_ = true;
    maybe_finish_exchange();
  }

  void do_start_stream() {
    if (closed_ || response_started_) return;
    response_started_ = streaming_ = true;
    std::string out = header_block(200, keep_alive_,
                                   {{"Content-Type", "text/event-stream"},
                                    {"Cache-Control", "no-cache"},
                                    {"Transfer-Encoding", "chunked"}}) +
                      "\r\n";
    queued_bytes_.fetch_add(out.size());
    enqueue(std::move(out));
  }

  void enqueue(std::string bytes) {
    if (closed_) return;
    outbox_.push_back(std::move(bytes));
    if (!writing_) write_next();
  }

  void write_next() {
    if (outbox_.empty() || closed_) {
      writing_ = false;
      maybe_finish_exchange();
      return;
    }
    writing_ = true;
    // Coalesce everything queued into one write: fewer syscalls when tokens arrive in bursts.
    current_.clear();
    while (!outbox_.empty()) {
      current_ += outbox_.front();
      outbox_.pop_front();
    }
    asio::async_write(stream_.socket(), asio::buffer(current_),
                      [self = shared_from_this()](beast::error_code ec, size_t n) {
                        self->queued_bytes_.fetch_sub(self->current_.size());
                        if (ec) return self->close_now();
                        self->write_next();
                      });
  }

  // The exchange ends when its response is complete and fully written.
  void maybe_finish_exchange() {
    if (!in_exchange_ || !response_complete_ || writing_ || !outbox_.empty()) return;
    in_exchange_ = false;
    on_disconnect_ = nullptr;
    tracker_->active_exchanges.fetch_sub(1);
    if (!keep_alive_) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      // Read until the client closes (bounded in time): closing with unread input would reset
      // the connection and could destroy the response before the client reads it.
      if (!watching_) drain_and_close();
      return;
    }
    if (!watching_) read_request();
  }

  void reply_error_and_close(const ApiError& e) {
    keep_alive_ = false;
    draining_body_ = true;
    begin_exchange();
    HttpResponse r;
    r.status = e.http_status;
    r.body = e.to_json();
    do_send(std::move(r));
  }

  void drain_and_close() {
    if (closed_) return;
    stream_.expires_after(std::chrono::seconds(5));
    auto space = buffer_.prepare(4096);
    stream_.async_read_some(space, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close_now();
      self->buffer_.clear();
      self->drain_and_close();
    });
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    gone_.store(true);
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    outbox_.clear();
    if (in_exchange_ && on_disconnect_) {
      auto cb = std::move(on_disconnect_);
      on_disconnect_ = nullptr;
      cb();
    }
  }

  beast::tcp_stream stream_;
  HttpSessionLimits limits_;
  RequestHandler handler_;
  std::shared_ptr<ConnectionTracker> tracker_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> outbox_;
  std::string current_;  // bytes of the write in flight
  std::function<void()> on_disconnect_;
  std::atomic<bool> gone_{false};
  std::atomic<size_t> queued_bytes_{0};  // queued + in flight, for the output bound
  bool first_request_ = true;
  bool keep_alive_ = true;
  bool head_request_ = false;  // the current request is HEAD: headers only
  bool in_exchange_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool streaming_ = false;
  bool writing_ = false;
  bool watching_ = false;
  bool closed_ = false;
  bool draining_body_ = false;
};

void start_http_session(tcp::socket socket, const HttpSessionLimits& limits, RequestHandler handler,
                        std::shared_ptr<ConnectionTracker> tracker) {
  std::make_shared<HttpSession>(std::move(socket), limits, std::move(handler), std::move(tracker))
      ->start();
}

}  // namespace xy::server
