#include "core/worker_pool.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace xy {
namespace {

TEST(WorkerPool, EveryRowRunsExactlyOnceOnItsWorker) {
  for (int workers : {1, 2, 3, 5}) {
    WorkerPool pool({.num_workers = workers, .pin = false});
    ASSERT_EQ(pool.num_workers(), workers);
    for (int rows : {0, 1, 2, 3, 4, 7, 17}) {
      std::vector<std::atomic<int>> count(static_cast<size_t>(rows));
      std::vector<std::thread::id> ran_on(static_cast<size_t>(rows));
      pool.run(rows, [&](int row) {
        count[row].fetch_add(1);
        ran_on[row] = std::this_thread::get_id();
      });
      for (int r = 0; r < rows; ++r) {
        EXPECT_EQ(count[r].load(), 1) << "workers " << workers << " rows " << rows << " row " << r;
        // Row r belongs to worker r % workers; worker 0 is the calling thread.
        EXPECT_EQ(ran_on[r], ran_on[r % workers]);
      }
      if (rows > 0) {
        EXPECT_EQ(ran_on[0], std::this_thread::get_id());
      }
      if (rows >= 2 && workers >= 2) {
        EXPECT_NE(ran_on[1], ran_on[0]);
      }
    }
  }
}

TEST(WorkerPool, DefaultsToOneWorkerPerAllowedCpu) {
  WorkerPool pool;
  EXPECT_GE(pool.num_workers(), 1);
  std::atomic<int> n{0};
  pool.run(pool.num_workers(), [&](int) { n.fetch_add(1); });
  EXPECT_EQ(n.load(), pool.num_workers());
}

// Thousands of back-to-back regions: no lost wake-up, no row run twice, and each region sees
// the caller's writes made just before it (and the caller sees the region's writes).
void back_to_back(WorkerPoolOptions options, int regions) {
  WorkerPool pool(options);
  const int rows = pool.num_workers() + 1;
  std::vector<long> sums(static_cast<size_t>(rows), 0);  // each written by one row only
  std::vector<long> out(static_cast<size_t>(rows), 0);
  long input = 0;
  for (int i = 0; i < regions; ++i) {
    input = i;
    pool.run(rows, [&](int row) {
      sums[row] += input;
      out[row] = input * 3 + row;
    });
    for (int r = 0; r < rows; ++r) ASSERT_EQ(out[r], i * 3L + r) << "region " << i;
  }
  const long expected = static_cast<long>(regions) * (regions - 1) / 2;
  for (int r = 0; r < rows; ++r) EXPECT_EQ(sums[r], expected);
}

TEST(WorkerPool, ManyBackToBackRegionsSpinning) {
  back_to_back({.num_workers = 2, .pin = false, .spin_us = 200}, 20000);
}

TEST(WorkerPool, ManyBackToBackRegionsAlwaysSleeping) {
  back_to_back({.num_workers = 3, .pin = false, .spin_us = 0}, 5000);
}

TEST(WorkerPool, WakesWorkersThatFellAsleep) {
  WorkerPool pool({.num_workers = 2, .pin = false, .spin_us = 5});
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(300));  // past the spin window
    std::atomic<int> n{0};
    pool.run(2, [&](int) { n.fetch_add(1); });
    ASSERT_EQ(n.load(), 2);
  }
}

TEST(WorkerPool, PinningIsToleratedAndPoolsComeAndGo) {
  for (int i = 0; i < 50; ++i) {
    WorkerPool pool({.num_workers = 3, .pin = true, .spin_us = i % 2 == 0 ? 0 : 20});
    std::atomic<int> n{0};
    pool.run(3, [&](int) { n.fetch_add(1); });
    EXPECT_EQ(n.load(), 3);
  }  // destructors join sleeping and spinning helpers alike
}

cpu_set_t affinity_of_this_thread() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  return set;
}

TEST(WorkerPool, AnotherThreadThatRunsRegionsIsPinnedToWorkerZerosCpu) {
  // The engine's shape: the pool is built on one thread (loading the model) and run from
  // another (the engine thread), which becomes worker 0 and is pinned to its CPU. The builder
  // runs regions too (weight packing) and keeps its affinity.
  const cpu_set_t before = affinity_of_this_thread();
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; ++c)
    if (CPU_ISSET(c, &before)) first = c;
  WorkerPool pool({.num_workers = 2, .pin = true});
  if (!pool.pinned()) GTEST_SKIP() << "pinning refused here";
  std::atomic<int> ran{0};
  pool.run(2, [&](int) { ran.fetch_add(1); });
  const cpu_set_t builder_after = affinity_of_this_thread();
  EXPECT_TRUE(CPU_EQUAL(&before, &builder_after));
  std::thread engine([&] {
    pool.run(2, [&](int) { ran.fetch_add(1); });
    const cpu_set_t after = affinity_of_this_thread();
    EXPECT_EQ(CPU_COUNT(&after), 1);
    EXPECT_TRUE(CPU_ISSET(first, &after));
  });
  engine.join();
  EXPECT_EQ(ran.load(), 4);
}

TEST(WorkerPoolDeathTest, NestedRunIsAProgrammerError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        WorkerPool pool({.num_workers = 2, .pin = false});
        pool.run(2, [&](int) { pool.run(1, [](int) {}); });
      },
      "inside a region");
}

}  // namespace
}  // namespace xy
