// Which of the next n-tile's weight panels a tile fetches into L2 while it computes: the rules
// shared by the dense (smooth_gemm_avx512.cpp) and quantized (quant_gemm.cpp) drivers.
//
// The Task-Table (gemm_task_table.h) hands a worker runs of m-tiles over the same np panels.
// The run's first tile streams them from memory and the rest find them in cache, so the run can
// fetch the next run's panels (the next n-tile's) meanwhile. A result's bit q is panel q.
//
// Kept free of dependencies, with internal linkage: the AVX-512 kernels include it, and one
// program-wide copy of an inline function could otherwise be theirs, reached from baseline code.
#pragma once

#include <cstdint>

namespace xy::cpu::detail {
namespace {

// A tile's place in its run (index 0 .. length - 1).
struct RunPlace {
  int index = 0;
  int length = 1;
};

// Spread over the run: the tile at `index` fetches the next panels q with q % length == index,
// so memory is busy at an even pace. A single-tile run fetches none: it streams its own panels
// the whole time.
inline uint32_t next_panels_spread(RunPlace place, int np) {
  uint32_t mask = 0;
  if (place.length < 2) return mask;
  for (int q = place.index; q < np; q += place.length) mask |= 1u << q;
  return mask;
}

// At the end: the run's last tile, when others came before it, fetches all np of them.
inline uint32_t next_panels_at_end(RunPlace place, int np) {
  const bool last = place.length > 1 && place.index == place.length - 1;
  return last ? (1u << np) - 1 : 0u;
}

}  // namespace
}  // namespace xy::cpu::detail
