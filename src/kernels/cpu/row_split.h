// Splitting per-row (per-token) element-wise kernels over a WorkerPool. A row's arithmetic never
// depends on which worker runs it or on how many rows share the call, so any split is batch
// invariant; the split only decides how many workers are woken.
#pragma once

#include <algorithm>

#include "core/worker_pool.h"

namespace xy::cpu {

// Calls fn(begin, end) over contiguous row ranges covering [0, num_rows), on at most
// pool.num_workers() workers and with at least `min_rows` rows per range (so a one-token decode
// step runs on the calling thread alone instead of waking the pool). Blocks until done.
template <class Fn>
void for_row_ranges(WorkerPool& pool, int num_rows, int min_rows, Fn&& fn) {
  if (num_rows <= 0) return;
  const int by_size = std::max(1, num_rows / std::max(1, min_rows));
  const int parts = std::min(pool.num_workers(), by_size);
  pool.run(parts, [&](int part) {
    const int begin = static_cast<int>(static_cast<int64_t>(num_rows) * part / parts);
    const int end = static_cast<int>(static_cast<int64_t>(num_rows) * (part + 1) / parts);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace xy::cpu
