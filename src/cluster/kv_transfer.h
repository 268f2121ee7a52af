// Moving prompt K/V between instances: the prefill side serves its KvExportStore on a port,
// the decode side pulls by transfer id. Pull, not push: the decode instance asks when it has
// accepted the request, so K/V never arrives for a request nobody wants, and an abort on
// either side closes the connection and frees what was held (the export entry is taken when
// the pull arrives; the receiver allocates nothing in the engine until the whole snapshot has
// arrived). Layers travel one by one, layer 0 first, each straight from the snapshot's memory.
//
// Two transports speak the same protocol (kv_wire.h) and are interchangeable:
//   ucx  UCX active messages (kv_transfer_ucx.cpp): RDMA (InfiniBand / RoCE, zero-copy
//        rendezvous) where the network has it, shared memory between processes of one host,
//        TCP otherwise. The default when xyserve is built with libucx-dev.
//   tcp  plain sockets (kv_transfer_tcp.cpp): the fallback, needs nothing but the kernel.
// A decode instance pulls with whichever transport the prefill instance names.
//
// Threads: each server and client runs its own I/O thread; callbacks run on it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/kv_export_store.h"
#include "core/status.h"
#include "model/kv_snapshot.h"

namespace xy::cluster {

enum class KvTransport { kTcp, kUcx };

std::string_view kv_transport_name(KvTransport t);
// "tcp" / "ucx"; kInvalidArgument otherwise, or kUnsupported for ucx in a build without UCX.
Result<KvTransport> parse_kv_transport(std::string_view name);
// Whether this build has the UCX transport (libucx-dev found at configure time).
bool kv_transport_ucx_built();
// The transport an instance uses when none is asked for: ucx when built, else tcp.
KvTransport default_kv_transport();

struct KvTransferCounters {
  std::atomic<uint64_t> transfers{0};  // completed
  std::atomic<uint64_t> failures{0};   // broken, refused, unknown id
  std::atomic<uint64_t> bytes{0};      // payload bytes moved
};

class KvTransferServer {
 public:
  virtual ~KvTransferServer() = default;
  // Binds (port 0 = any free one) and starts the I/O thread, which also drops expired exports
  // every second (so memory nobody pulls is returned without waiting for the next export).
  // kIoError when the port is taken or the transport cannot start.
  virtual Status start() = 0;
  virtual void stop() = 0;
  virtual int port() const = 0;
  virtual KvTransport transport() const = 0;
  const KvTransferCounters& counters() const { return counters_; }

 protected:
  KvTransferCounters counters_;
};

std::unique_ptr<KvTransferServer> make_kv_transfer_server(KvTransport transport,
                                                          KvExportStore& store, std::string host,
                                                          int port);

struct KvPullRequest {
  std::string host;
  int port = 0;
  std::string transfer_id;
  // What the receiver can use: anything else is refused before its bytes are read.
  KvSnapshotLayout layout;
  int num_tokens = 0;
  double timeout_s = 30;  // no progress for this long = failure
};

class KvPull {
 public:
  virtual ~KvPull() = default;
  // Abandons the transfer: the connection closes and `done` gets an error (if not yet called).
  virtual void cancel() = 0;
};

class KvTransferClient {
 public:
  virtual ~KvTransferClient() = default;
  // Starts a pull; `done` runs once on the client's thread with the snapshot or the reason
  // (kNotFound: the sender has no such transfer; kIoError: connection; kFormatError: the
  // bytes; kInvalidArgument: the layout or length differs from the request's).
  virtual std::shared_ptr<KvPull> pull(KvPullRequest request,
                                       std::function<void(Result<KvSnapshot>)> done) = 0;
  virtual KvTransport transport() const = 0;
  const KvTransferCounters& counters() const { return counters_; }

 protected:
  KvTransferCounters counters_;
};

// kIoError when the transport cannot start (UCX finds no usable device).
Result<std::unique_ptr<KvTransferClient>> make_kv_transfer_client(KvTransport transport);

}  // namespace xy::cluster
