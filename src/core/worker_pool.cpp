#include "core/worker_pool.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <climits>

#include "core/check.h"

namespace xy {

namespace {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex needs a plain 32-bit word");

// The kernel compares *word with `expected` atomically before sleeping, so a wake between our
// last check and this call is never lost.
void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
}

void futex_wake_all(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until pred() holds or spin_us elapse; returns pred()'s last value. After the first
// few hundred pauses the loop also yields: on an oversubscribed machine the thread we wait
// for may be runnable on our own CPU, and pure spinning would keep it off.
template <class Pred>
bool spin_until(Pred pred, int spin_us) {
  if (pred()) return true;
  if (spin_us <= 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
  for (int round = 0;; ++round) {
    for (int i = 0; i < 64; ++i) {
      if (pred()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    if (round >= 4) sched_yield();
  }
}

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

bool pin_thread(pthread_t thread, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(thread, sizeof(set), &set) == 0;
}

}  // namespace

WorkerPool::WorkerPool(WorkerPoolOptions options) : spin_us_(options.spin_us) {
  const std::vector<int> cpus = allowed_cpus();
  num_workers_ = options.num_workers > 0 ? options.num_workers
                                         : (cpus.empty() ? 1 : static_cast<int>(cpus.size()));
  bool all_pinned = options.pin && !cpus.empty();
  if (all_pinned) caller_cpu_ = cpus[0];
  if (all_pinned && options.pin_caller) all_pinned = pin_thread(pthread_self(), cpus[0]);
  threads_.reserve(static_cast<size_t>(num_workers_ - 1));
  for (int w = 1; w < num_workers_; ++w) {
    threads_.emplace_back([this, w] { worker_main(w); });
    if (options.pin && !cpus.empty()) {
      all_pinned = pin_thread(threads_.back().native_handle(), cpus[w % cpus.size()]) && all_pinned;
    }
  }
  pinned_ = all_pinned;
}

WorkerPool::~WorkerPool() {
  XY_CHECK_MSG(!in_region_.load(), "WorkerPool destroyed while a region is running");
  stop_ = true;
  generation_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_all(&generation_);
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::run_rows(int worker_id) {
  for (int row = worker_id; row < region_rows_; row += num_workers_) region_fn_(region_ctx_, row);
}

void WorkerPool::run_erased(int num_rows, RowFn fn, void* ctx) {
  XY_CHECK(num_rows >= 0);
  XY_CHECK_MSG(!in_region_.exchange(true, std::memory_order_acquire),
               "WorkerPool::run called from inside a region or from two threads at once");
  if (num_rows <= 1 || num_workers_ == 1) {
    // Nothing to share: waking the helpers would cost more than the region.
    for (int row = 0; row < num_rows; ++row) fn(ctx, row);
    in_region_.store(false, std::memory_order_release);
    return;
  }
  // Worker 0 is whichever thread calls run(). A thread other than the pool's builder (the
  // engine thread) is pinned to worker 0's CPU on its first region: left to the scheduler it may
  // share a CPU with a pinned helper that spins, and every region then waits for time slices.
  // The builder (a main thread that packs weights at load) is left as pin_caller says.
  thread_local const WorkerPool* pinned_caller_of = nullptr;
  if (caller_cpu_ >= 0 && pinned_caller_of != this &&
      std::this_thread::get_id() != builder_thread_) {
    pin_thread(pthread_self(), caller_cpu_);
    pinned_caller_of = this;
  }
  region_fn_ = fn;
  region_ctx_ = ctx;
  region_rows_ = num_rows;
  pending_helpers_.store(static_cast<uint32_t>(num_workers_ - 1), std::memory_order_relaxed);
  // seq_cst pairs with the helpers' sleeping_helpers_ increment: either they see the new
  // generation before sleeping or we see them sleeping and wake them.
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_helpers_.load(std::memory_order_seq_cst) > 0) futex_wake_all(&generation_);

  run_rows(0);

  auto all_done = [this] { return pending_helpers_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(all_done, spin_us_)) {
    caller_sleeping_.store(true, std::memory_order_seq_cst);
    for (;;) {
      const uint32_t left = pending_helpers_.load(std::memory_order_seq_cst);
      if (left == 0) break;
      futex_wait(&pending_helpers_, left);
    }
    caller_sleeping_.store(false, std::memory_order_relaxed);
  }
  in_region_.store(false, std::memory_order_release);
}

void WorkerPool::worker_main(int worker_id) {
  uint32_t seen = 0;  // generation_ is 0 at construction and the constructor bumps nothing
  for (;;) {
    auto has_work = [this, seen] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(has_work, spin_us_)) {
      sleeping_helpers_.fetch_add(1, std::memory_order_seq_cst);
      while (generation_.load(std::memory_order_seq_cst) == seen) futex_wait(&generation_, seen);
      sleeping_helpers_.fetch_sub(1, std::memory_order_relaxed);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_) return;
    run_rows(worker_id);
    // seq_cst pairs with caller_sleeping_: either the caller sees 0 before sleeping or we see it
    // asleep and wake it.
    if (pending_helpers_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        caller_sleeping_.load(std::memory_order_seq_cst)) {
      futex_wake_all(&pending_helpers_);
    }
  }
}

}  // namespace xy
