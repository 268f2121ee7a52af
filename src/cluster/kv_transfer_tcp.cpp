// The TCP transport of the KV transfer (kv_transfer.h): one connection per pull, the kv_wire
// bytes written in order (request; response head, token ids, then per layer its length and
// bytes). Boost.Asio coroutines on one I/O thread per server or client.
#include "cluster/kv_transfer_tcp.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <thread>
#include <vector>

#include "cluster/kv_wire.h"
#include "core/seconds.h"

namespace xy::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr double kServerIdleTimeoutS = 30;

// One pull served: read the request, take the entry, write head + layers.
asio::awaitable<void> serve_pull(tcp::socket socket, KvExportStore& store,
                                 KvTransferCounters& counters) {
  beast::tcp_stream stream(std::move(socket));
  boost::system::error_code ec;
  std::string head(kPullRequestHeaderBytes, '\0');
  stream.expires_after(steady_seconds(kServerIdleTimeoutS));
  co_await asio::async_read(stream, asio::buffer(head),
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  // The id length is validated before the id is read.
  const Result<uint32_t> id_len = decode_pull_request_head(head);
  if (!id_len.is_ok()) {
    counters.failures.fetch_add(1);
    std::string refuse = encode_response_head(KvWireStatus::kRefused, nullptr);
    co_await asio::async_write(stream, asio::buffer(refuse),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }
  std::string id(*id_len, '\0');
  co_await asio::async_read(stream, asio::buffer(id),
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  std::shared_ptr<const KvSnapshot> s = store.take(id);
  const std::string response_head =
      encode_response_head(s ? KvWireStatus::kOk : KvWireStatus::kUnknownId, s.get());
  stream.expires_after(steady_seconds(kServerIdleTimeoutS));
  co_await asio::async_write(stream, asio::buffer(response_head),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec || !s) {
    counters.failures.fetch_add(1);
    co_return;
  }
  for (const std::vector<uint8_t>& layer : s->layers) {
    uint64_t n = layer.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    const std::array<asio::const_buffer, 2> bufs{asio::buffer(len), asio::buffer(layer)};
    stream.expires_after(steady_seconds(kServerIdleTimeoutS));
    co_await asio::async_write(stream, bufs, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // The receiver went away (aborted): the entry is gone with it, nothing else to free.
      counters.failures.fetch_add(1);
      co_return;
    }
    counters.bytes.fetch_add(n);
  }
  counters.transfers.fetch_add(1);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

class TcpKvServer final : public KvTransferServer {
 public:
  TcpKvServer(KvExportStore& store, std::string host, int port)
      : store_(store), host_(std::move(host)), port_(port), acceptor_(io_), sweep_timer_(io_) {}
  ~TcpKvServer() override { stop(); }
  Status start() override;
  void stop() override;
  int port() const override { return port_; }
  KvTransport transport() const override { return KvTransport::kTcp; }

 private:
  void accept_next();
  void sweep_expired();

  KvExportStore& store_;
  std::string host_;
  int port_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer sweep_timer_;
  std::thread thread_;
};

Status TcpKvServer::start() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host_, ec);
  if (ec) return invalid_argument("KV transfer host '" + host_ + "': " + ec.message());
  const tcp::endpoint ep(address, static_cast<unsigned short>(port_));
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return io_error("KV transfer port " + host_ + ":" + std::to_string(port_) + ": " +
                    ec.message());
  port_ = acceptor_.local_endpoint().port();
  accept_next();
  sweep_expired();
  thread_ = std::thread([this] { io_.run(); });
  return Status::ok();
}

void TcpKvServer::accept_next() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(io_, serve_pull(std::move(socket), store_, counters_), asio::detached);
    accept_next();
  });
}

void TcpKvServer::sweep_expired() {
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // stopped
    store_.expire();
    sweep_expired();
  });
}

void TcpKvServer::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    sweep_timer_.cancel();
  });
  io_.stop();
  thread_.join();
}

class PullImpl : public KvPull, public std::enable_shared_from_this<PullImpl> {
 public:
  PullImpl(asio::io_context& io, KvPullRequest req, std::function<void(Result<KvSnapshot>)> done,
           KvTransferCounters& counters)
      : stream_(asio::make_strand(io)),
        req_(std::move(req)),
        done_(std::move(done)),
        counters_(counters) {}

  asio::any_io_executor executor() { return stream_.get_executor(); }

  void cancel() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->cancelled_ = true;
      self->stream_.close();
      self->finish(io_error("KV transfer cancelled"));
    });
  }

  asio::awaitable<void> run() {
    Result<KvSnapshot> r = co_await transfer();
    if (!r.is_ok() && !cancelled_) counters_.failures.fetch_add(1);
    if (r.is_ok()) counters_.transfers.fetch_add(1);
    finish(std::move(r));
  }

 private:
  void finish(Result<KvSnapshot> r) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(r));
  }

  Status broken(const boost::system::error_code& ec, const char* phase) const {
    const std::string where = req_.host + ":" + std::to_string(req_.port);
    if (cancelled_) return io_error("KV transfer cancelled");
    if (ec == beast::error::timeout)
      return io_error("KV transfer from " + where + ": no progress while " + phase);
    return io_error("KV transfer from " + where + ": " + phase + ": " + ec.message());
  }

  asio::awaitable<Result<KvSnapshot>> transfer() {
    boost::system::error_code ec;
    tcp::resolver resolver(stream_.get_executor());
    auto endpoints = co_await resolver.async_resolve(req_.host, std::to_string(req_.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return broken(ec, "resolving");
    stream_.expires_after(steady_seconds(req_.timeout_s));
    co_await stream_.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || cancelled_) co_return broken(ec, "connecting");
    stream_.socket().set_option(tcp::no_delay(true), ec);
    const std::string request = encode_pull_request(req_.transfer_id);
    stream_.expires_after(steady_seconds(req_.timeout_s));
    co_await asio::async_write(stream_, asio::buffer(request),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec || cancelled_) co_return broken(ec, "sending the request");
    std::string head(kResponseFixedBytes, '\0');
    stream_.expires_after(steady_seconds(req_.timeout_s));
    co_await asio::async_read(stream_, asio::buffer(head),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec || cancelled_) co_return broken(ec, "reading the response");
    // The layout follows only an ok status; any other status is answered from the fixed part.
    Result<KvWireStatus> status = decode_response_status(head);
    if (!status.is_ok() || *status != KvWireStatus::kOk)
      co_return accept_response_head(head, req_.transfer_id, req_.layout, req_.num_tokens).status();
    std::string layout(kResponseLayoutBytes, '\0');
    co_await asio::async_read(stream_, asio::buffer(layout),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec || cancelled_) co_return broken(ec, "reading the layout");
    // Refuse what cannot be used before allocating for it.
    Result<ResponseHead> h_or =
        accept_response_head(head + layout, req_.transfer_id, req_.layout, req_.num_tokens);
    if (!h_or.is_ok()) co_return h_or.status();
    const ResponseHead h = *h_or;
    KvSnapshot s;
    s.layout = h.layout;
    std::string ids(size_t(h.num_tokens) * 4, '\0');
    co_await asio::async_read(stream_, asio::buffer(ids),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec || cancelled_) co_return broken(ec, "reading token ids");
    s.tokens = decode_token_ids(ids);
    const size_t want = h.layout.layer_bytes(h.num_tokens);
    for (int l = 0; l < h.layout.num_layers; ++l) {
      unsigned char len[8];
      stream_.expires_after(steady_seconds(req_.timeout_s));
      co_await asio::async_read(stream_, asio::buffer(len),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec || cancelled_) co_return broken(ec, "reading a layer");
      uint64_t n = 0;
      for (int b = 0; b < 8; ++b) n |= uint64_t(len[b]) << (8 * b);
      if (n != want)
        co_return format_error("KV transfer: layer " + std::to_string(l) + " has " +
                               std::to_string(n) + " bytes, the layout needs " +
                               std::to_string(want));
      std::vector<uint8_t> layer(want);
      stream_.expires_after(steady_seconds(req_.timeout_s));
      co_await asio::async_read(stream_, asio::buffer(layer),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec || cancelled_) co_return broken(ec, "reading a layer");
      counters_.bytes.fetch_add(n);
      s.layers.push_back(std::move(layer));
    }
    co_return s;
  }

  beast::tcp_stream stream_;
  KvPullRequest req_;
  std::function<void(Result<KvSnapshot>)> done_;
  KvTransferCounters& counters_;
  bool cancelled_ = false;
};

class TcpKvClient final : public KvTransferClient {
 public:
  TcpKvClient()
      : work_(asio::make_work_guard(io_.get_executor())), thread_([this] { io_.run(); }) {}
  ~TcpKvClient() override {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  std::shared_ptr<KvPull> pull(KvPullRequest request,
                               std::function<void(Result<KvSnapshot>)> done) override {
    auto p = std::make_shared<PullImpl>(io_, std::move(request), std::move(done), counters_);
    asio::co_spawn(
        p->executor(), [p]() { return p->run(); }, asio::detached);
    return p;
  }
  KvTransport transport() const override { return KvTransport::kTcp; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<KvTransferServer> make_tcp_kv_server(KvExportStore& store, std::string host,
                                                     int port) {
  return std::make_unique<TcpKvServer>(store, std::move(host), port);
}

std::unique_ptr<KvTransferClient> make_tcp_kv_client() {
  return std::make_unique<TcpKvClient>();
}

}  // namespace xy::cluster
