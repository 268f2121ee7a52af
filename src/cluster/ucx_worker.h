// One UCX context + worker driven by its own thread: the event loop of the UCX transport
// (kv_transfer_ucx.cpp). Every UCP call on the worker happens on that thread: other threads
// hand work over with post(). The thread sleeps on the worker's event fd (UCP_FEATURE_WAKEUP)
// and wakes for posted work, for network events, and every tick for timeouts.
//
// Built only with libucx-dev (XYSERVE_HAVE_UCX).
#pragma once

#include <ucp/api/ucp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace xy::cluster {

class UcxWorker {
 public:
  // Starts the thread, which makes the context and worker (UCX wants a worker used by the
  // thread that made it); `on_tick` runs on it about every `tick` (timeouts, sweeps).
  // kIoError with UCX's reason when no context or worker can be made (no usable transport).
  static Result<std::unique_ptr<UcxWorker>> create(std::function<void()> on_tick,
                                                   std::chrono::milliseconds tick);
  ~UcxWorker();  // stop() first
  UcxWorker(const UcxWorker&) = delete;
  UcxWorker& operator=(const UcxWorker&) = delete;

  // Runs `fn` on the worker thread (soon, in posting order).
  void post(std::function<void()> fn);
  // Runs `fn` on the worker thread and waits for it.
  void call(const std::function<void()>& fn);
  // Runs `shutdown` on the thread, then makes progress until `drained()` says everything it
  // closed has finished (bounded by `limit`), then joins. Idempotent.
  void stop(std::function<void()> shutdown, std::function<bool()> drained,
            std::chrono::milliseconds limit = std::chrono::milliseconds(2000));

  // Operations whose completion runs `done(status)` once, on the worker thread, later (never
  // inside the call), also when they fail to start. Worker thread only. The header is copied;
  // `data` must stay valid until `done` runs.
  using Completion = std::function<void(ucs_status_t)>;
  void send_am(ucp_ep_h ep, unsigned id, std::string header, const void* data, size_t length,
               uint32_t flags, Completion done);
  // Receives the data of a rendezvous active message (a descriptor kept by returning
  // UCS_INPROGRESS from the handler) into `dest`.
  void receive_am_data(void* descriptor, void* dest, size_t length, Completion done);
  // Closes an endpoint (force: drop what is in flight; else flush it first).
  void close_endpoint(ucp_ep_h ep, bool force);
  // Operations started above and not yet completed.
  size_t outstanding() const { return outstanding_; }

  ucp_worker_h worker() const { return worker_; }
  ucp_context_h context() const { return context_; }

 private:
  UcxWorker() = default;
  Status init();   // on the worker thread
  void release();  // on the worker thread, last
  struct PendingOp;
  void loop();
  bool run_posted();
  void track(ucs_status_ptr_t started, PendingOp* op);
  static void on_send_done(void* request, ucs_status_t status, void* user_data);
  static void on_receive_done(void* request, ucs_status_t status, size_t length, void* user_data);
  void complete(PendingOp* op, ucs_status_t status);

  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  int worker_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: posted work
  int epoll_fd_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  bool stopping_ = false;  // worker thread only
  std::function<void()> on_tick_;
  std::chrono::milliseconds tick_{100};
  size_t outstanding_ = 0;  // worker thread only
};

// UCX's text for a status ("Connection reset by remote peer", ...).
std::string ucx_status_text(ucs_status_t s);

}  // namespace xy::cluster
