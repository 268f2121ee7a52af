// Moving prompt K/V between instances over TCP (kv_wire.h framing): the prefill side serves
// its KvExportStore on a port, the decode side pulls by transfer id. Pull, not push: the decode
// instance asks when it has accepted the request, so K/V never arrives for a request nobody
// wants, and an abort on either side closes the connection and frees what was held (the
// export entry is taken at the first byte of the response; the receiver allocates nothing in
// the engine until the whole snapshot has arrived). Layers are sent one after another, layer 0
// first, each straight from the snapshot's memory.
//
// Threads: each side runs its own I/O thread; callbacks run on it.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cluster/kv_export_store.h"
#include "core/status.h"
#include "model/kv_snapshot.h"

namespace xy::cluster {

struct KvTransferCounters {
  std::atomic<uint64_t> transfers{0};  // completed
  std::atomic<uint64_t> failures{0};   // broken, refused, unknown id
  std::atomic<uint64_t> bytes{0};      // payload bytes moved
};

class KvTransferServer {
 public:
  KvTransferServer(KvExportStore& store, std::string host, int port);
  ~KvTransferServer();
  // Binds (port 0 = any free one) and starts the I/O thread, which also drops expired exports
  // every second (so memory nobody pulls is returned without waiting for the next export).
  // kIoError when the port is taken.
  Status start();
  void stop();
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  const KvTransferCounters& counters() const { return counters_; }

 private:
  void accept_next();
  void sweep_expired();

  KvExportStore& store_;
  std::string host_;
  int port_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer sweep_timer_;
  std::thread thread_;
  KvTransferCounters counters_;
};

struct KvPullRequest {
  std::string host;
  int port = 0;
  std::string transfer_id;
  // What the receiver can use: anything else is refused before its bytes are read.
  KvSnapshotLayout layout;
  int num_tokens = 0;
  double timeout_s = 30;  // no progress for this long = failure
};

class KvPull;  // one transfer in flight; cancel() closes it

class KvTransferClient {
 public:
  KvTransferClient();
  ~KvTransferClient();
  // Starts a pull; `done` runs once on the client's thread with the snapshot or the reason
  // (kNotFound: the sender has no such transfer; kIoError: connection; kFormatError: the
  // bytes; kInvalidArgument: the layout or length differs from the request's).
  std::shared_ptr<KvPull> pull(KvPullRequest request, std::function<void(Result<KvSnapshot>)> done);
  const KvTransferCounters& counters() const { return counters_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  KvTransferCounters counters_;
};

class KvPull {
 public:
  virtual ~KvPull() = default;
  // Abandons the transfer: the connection closes and `done` gets an error (if not yet called).
  virtual void cancel() = 0;
};

}  // namespace xy::cluster
