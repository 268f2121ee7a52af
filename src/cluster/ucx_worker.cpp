#include "cluster/ucx_worker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>

namespace xy::cluster {

std::string ucx_status_text(ucs_status_t s) {
  return ucs_status_string(s);
}

Result<std::unique_ptr<UcxWorker>> UcxWorker::create(std::function<void()> on_tick,
                                                     std::chrono::milliseconds tick) {
  // A restarted instance must be able to listen on its port again at once, as the TCP
  // transport can (SO_REUSEADDR), while connections to its predecessor linger in TIME_WAIT.
  // The connection managers read this from the environment only (ucp_config_modify does not
  // reach them); a value the user set wins.
  static std::once_flag reuse_address;
  std::call_once(reuse_address, [] {
    setenv("UCX_TCP_CM_REUSEADDR", "y", /*overwrite=*/0);
    setenv("UCX_RDMA_CM_REUSEADDR", "y", /*overwrite=*/0);
  });
  std::unique_ptr<UcxWorker> w(new UcxWorker());
  w->on_tick_ = std::move(on_tick);
  w->tick_ = tick;
  w->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->wake_fd_ < 0) return io_error(std::string("UCX event loop: ") + std::strerror(errno));
  std::promise<Status> ready;
  std::future<Status> started = ready.get_future();
  UcxWorker* self = w.get();
  w->thread_ = std::thread([self, &ready] {
    Status s = self->init();
    const bool ok = s.is_ok();
    ready.set_value(std::move(s));
    if (ok) self->loop();
    self->release();
  });
  Status s = started.get();
  if (!s.is_ok()) {
    w->thread_.join();
    return s;
  }
  return w;
}

Status UcxWorker::init() {
  ucp_config_t* config = nullptr;
  ucs_status_t s = ucp_config_read(nullptr, nullptr, &config);
  if (s != UCS_OK) return io_error("UCX configuration: " + ucx_status_text(s));
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_NAME;
  params.features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  params.name = "xyserve-kv";
  s = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  if (s != UCS_OK) return io_error("UCX context: " + ucx_status_text(s));
  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_SINGLE;  // only this thread touches it
  s = ucp_worker_create(context_, &wp, &worker_);
  if (s != UCS_OK) return io_error("UCX worker: " + ucx_status_text(s));
  s = ucp_worker_get_efd(worker_, &worker_fd_);
  if (s != UCS_OK) return io_error("UCX worker event fd: " + ucx_status_text(s));
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return io_error(std::string("UCX event loop: ") + std::strerror(errno));
  for (int fd : {worker_fd_, wake_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
      return io_error(std::string("UCX event loop: ") + std::strerror(errno));
  }
  return Status::ok();
}

void UcxWorker::release() {
  if (worker_) ucp_worker_destroy(worker_);
  worker_ = nullptr;
  if (context_) ucp_cleanup(context_);
  context_ = nullptr;
}

UcxWorker::~UcxWorker() {
  if (thread_.joinable()) stop([] {}, [] { return true; });
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void UcxWorker::call(const std::function<void()>& fn) {
  std::promise<void> done;
  post([&fn, &done] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

void UcxWorker::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

bool UcxWorker::run_posted() {
  // A vector, not a deque: an empty one costs no allocation on every turn of the loop. Local,
  // because stop()'s drain runs this again from inside a posted function.
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(mu_);
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
  return !work.empty();
}

void UcxWorker::loop() {
  auto next_tick = std::chrono::steady_clock::now() + tick_;
  while (!stopping_) {
    bool busy = run_posted();
    // A bounded burst, so posted work (a cancel) is not starved while data flows.
    for (int i = 0; i < 64 && ucp_worker_progress(worker_) != 0; ++i) busy = true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      if (on_tick_) on_tick_();
      next_tick = now + tick_;
    }
    if (busy || stopping_) continue;
    // Sleep only when the worker says nothing is pending (arm returns BUSY otherwise).
    if (ucp_worker_arm(worker_) == UCS_ERR_BUSY) continue;
    const auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now).count();
    epoll_event events[2];
    const int n = epoll_wait(epoll_fd_, events, 2, int(std::max<int64_t>(wait_ms, 0)) + 1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd != wake_fd_) continue;
      uint64_t count;
      [[maybe_unused]] ssize_t r = read(wake_fd_, &count, sizeof count);
    }
  }
}

struct UcxWorker::PendingOp {
  UcxWorker* owner;
  Completion done;
  std::string header;
};

void UcxWorker::complete(PendingOp* op, ucs_status_t status) {
  --outstanding_;
  Completion done = std::move(op->done);
  delete op;
  if (done) done(status);
}

void UcxWorker::on_send_done(void* request, ucs_status_t status, void* user_data) {
  ucp_request_free(request);
  auto* op = static_cast<PendingOp*>(user_data);
  // Never inside UCX's callback: the completion may close the endpoint UCX is working on
  // (an endpoint failing purges its requests from inside its own teardown).
  op->owner->post([op, status] { op->owner->complete(op, status); });
}

void UcxWorker::on_receive_done(void* request, ucs_status_t status, size_t, void* user_data) {
  on_send_done(request, status, user_data);
}

void UcxWorker::track(ucs_status_ptr_t started, PendingOp* op) {
  ++outstanding_;
  if (started != nullptr && !UCS_PTR_IS_ERR(started)) return;  // the callback will come
  // Finished or failed at once: report it from the loop, never inside the caller.
  const ucs_status_t status = started == nullptr ? UCS_OK : UCS_PTR_STATUS(started);
  post([this, op, status] { complete(op, status); });
}

void UcxWorker::send_am(ucp_ep_h ep, unsigned id, std::string header, const void* data,
                        size_t length, uint32_t flags, Completion done) {
  auto* op = new PendingOp{this, std::move(done), std::move(header)};
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                       UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  param.cb.send = &UcxWorker::on_send_done;
  param.user_data = op;
  param.flags = flags;
  track(ucp_am_send_nbx(ep, id, op->header.data(), op->header.size(), data, length, &param), op);
}

void UcxWorker::receive_am_data(void* descriptor, void* dest, size_t length, Completion done) {
  auto* op = new PendingOp{this, std::move(done), {}};
  ucp_request_param_t param{};
  param.op_attr_mask =
      UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  param.cb.recv_am = &UcxWorker::on_receive_done;
  param.user_data = op;
  track(ucp_am_recv_data_nbx(worker_, descriptor, dest, length, &param), op);
}

void UcxWorker::close_endpoint(ucp_ep_h ep, bool force) {
  auto* op = new PendingOp{this, nullptr, {}};
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                       UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  param.cb.send = &UcxWorker::on_send_done;
  param.user_data = op;
  param.flags = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
  track(ucp_ep_close_nbx(ep, &param), op);
}

void UcxWorker::stop(std::function<void()> shutdown, std::function<bool()> drained,
                     std::chrono::milliseconds limit) {
  if (!thread_.joinable()) return;
  post([this, shutdown = std::move(shutdown), drained = std::move(drained), limit] {
    shutdown();
    // Closing endpoints completes through progress: run it here, then leave the loop.
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!drained() && std::chrono::steady_clock::now() < until) {
      run_posted();
      ucp_worker_progress(worker_);
    }
    run_posted();
    stopping_ = true;
  });
  thread_.join();
}

}  // namespace xy::cluster
