// A persistent pool of worker threads that executes one parallel region at a time: the Task-Table
// row of each worker (ARCHITECTURE.md, "TaskTable"). Threads are created once; a region wakes
// them through an atomic generation counter (brief spin, then futex sleep) and the calling
// thread takes part as worker 0, so a region costs no thread creation and no allocation.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace xy {

struct WorkerPoolOptions {
  int num_workers = 0;      // including the calling thread; 0 = one per CPU this process may use
  bool pin = true;          // pin helper thread i to the i-th allowed CPU; failure is tolerated
  bool pin_caller = false;  // also pin the constructing thread to the first allowed CPU
  // (With pin, a thread other than the constructing one that calls run() with work to share is
  // pinned to the first allowed CPU on its first region: it is worker 0.)
  int spin_us = 50;  // idle workers (and the caller waiting for them) spin this long, then sleep
};

class WorkerPool {
 public:
  explicit WorkerPool(WorkerPoolOptions options = {});
  ~WorkerPool();  // joins the helper threads; must not be called from inside a region
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int num_workers() const { return num_workers_; }
  // True when every requested pin succeeded (false also when pinning was not requested).
  bool pinned() const { return pinned_; }

  // Calls fn(row) exactly once for every row in [0, num_rows) and returns when all are done.
  // Row r runs on worker r % num_workers(); worker 0 is the calling thread, so with
  // num_rows <= num_workers() each worker runs at most its own row.
  // Contract: one region at a time; calling run() from inside fn, or from a second thread while
  // a region is running, is a programmer error (XY_CHECK). fn must not throw (terminates).
  // Memory: everything the caller wrote before run() is visible to fn, and everything fn wrote
  // is visible to the caller after run() returns.
  template <class Fn>
  void run(int num_rows, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    run_erased(
        num_rows, [](void* ctx, int row) noexcept { (*static_cast<F*>(ctx))(row); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using RowFn = void (*)(void* ctx, int row) noexcept;

  void run_erased(int num_rows, RowFn fn, void* ctx);
  void worker_main(int worker_id);
  void run_rows(int worker_id);

  int num_workers_ = 1;
  int spin_us_ = 50;
  bool pinned_ = false;
  int caller_cpu_ = -1;  // with pin: worker 0's CPU, taken by the thread that calls run()
  std::thread::id builder_thread_ = std::this_thread::get_id();
  std::vector<std::thread> threads_;  // [num_workers - 1] helpers; worker 0 is the caller

  // The current region, published before generation_ is bumped.
  RowFn region_fn_ = nullptr;
  void* region_ctx_ = nullptr;
  int region_rows_ = 0;
  bool stop_ = false;

  std::atomic<bool> in_region_{false};
  alignas(64) std::atomic<uint32_t> generation_{0};  // futex word the helpers sleep on
  alignas(64) std::atomic<int> sleeping_helpers_{0};
  alignas(64) std::atomic<uint32_t> pending_helpers_{0};  // futex word the caller sleeps on
  std::atomic<bool> caller_sleeping_{false};
};

}  // namespace xy
