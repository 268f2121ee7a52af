// The Task-Table of a GEMM call, shared by the dense (smooth_gemm.cpp) and quantized
// (quant_gemm.cpp) drivers: the (m_tile, n_tile) grid of register tiles, walked in
// GemmTileConfig's order (m-blocks of m_block m-tiles; inside a block n-tiles outer, m-tiles
// inner), cut into equal contiguous slices, one per worker. Which worker runs a tile never
// changes what the tile computes, so the split is free to follow the pool's size.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/check.h"
#include "core/worker_pool.h"
#include "kernels/cpu/gemm_next_panels.h"
#include "kernels/cpu/gemm_tile_config.h"

namespace xy::cpu::detail {

// Calls run(m_tile0, m_tiles, n_tile) for every maximal run of a worker's slice that stays in
// one m-block and one n-tile: m-tiles m_tile0 .. m_tile0 + m_tiles - 1, consecutive, all with
// the same n-tile (a kernel may share that n-tile's weight panels across the run). Together
// the runs cover every tile of an m x (num_panels * 16) output once, on `pool`; blocks until
// all are done. num_panels_padded bounds the panels a tile of config.np may read.
template <class Run>
void run_task_table_runs(WorkerPool& pool, int m, int num_panels, int num_panels_padded,
                         const GemmTileConfig& config, Run&& run) {
  const int m_tiles = (m + config.mr - 1) / config.mr;
  const int n_tiles = (num_panels + config.np - 1) / config.np;
  XY_CHECK(n_tiles * config.np <= num_panels_padded);  // np divides kPanelGroup
  const int m_block = std::min(config.m_block, m_tiles);
  const int64_t total = static_cast<int64_t>(m_tiles) * n_tiles;
  const int workers = static_cast<int>(std::min<int64_t>(pool.num_workers(), total));
  const int64_t block_tiles = static_cast<int64_t>(m_block) * n_tiles;
  pool.run(workers, [&](int worker) {
    const int64_t begin = total * worker / workers;
    const int64_t end = total * (worker + 1) / workers;
    for (int64_t t = begin; t < end;) {
      const int64_t block = t / block_tiles;  // every block but the last is full
      const int64_t in_block = t - block * block_tiles;
      const int64_t block_m0 = block * m_block;
      const int64_t rows_in_block = std::min<int64_t>(m_block, m_tiles - block_m0);
      const int n_tile = static_cast<int>(in_block / rows_in_block);
      const int64_t row = in_block % rows_in_block;
      const int64_t count = std::min(rows_in_block - row, end - t);
      run(static_cast<int>(block_m0 + row), static_cast<int>(count), n_tile);
      t += count;
    }
  });
}

// Calls tile(m0, panel0, place) once for every tile, in the order above; place: the tile's place
// in its run (gemm_next_panels.h).
template <class Tile>
void run_task_table(WorkerPool& pool, int m, int num_panels, int num_panels_padded,
                    const GemmTileConfig& config, Tile&& tile) {
  run_task_table_runs(pool, m, num_panels, num_panels_padded, config,
                      [&](int m_tile0, int m_tiles, int n_tile) {
                        for (int i = 0; i < m_tiles; ++i) {
                          tile((m_tile0 + i) * config.mr, n_tile * config.np, RunPlace{i, m_tiles});
                        }
                      });
}

}  // namespace xy::cpu::detail
