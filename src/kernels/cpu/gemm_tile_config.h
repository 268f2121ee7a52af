// The knobs of one SmoothGEMM call: which register-tile micro-kernel and which task order.
// Everything here is a performance choice: every config computes bit-identical results
// (each output element is one FMA chain over k = 0..K-1, see smooth_gemm.h).
#pragma once

#include <array>
#include <string>

#include "core/dtype.h"
#include "kernels/cpu/packed_weight.h"

namespace xy::cpu {

struct GemmTileConfig {
  int mr = 6;  // rows of x per micro-tile (the register tile height)
  int np = 1;  // 16-column weight panels per micro-tile (tile width = 16 * np)
  // Task order: the (m_tile, n_tile) grid is walked as m-blocks of `m_block` m-tiles; inside a
  // block, n-tiles outer and m-tiles inner, so a weight panel is reused from L1/L2 across the
  // block while the block's rows of x stay in L2. Contiguous equal slices of that order form
  // the workers' Task-Table rows. m_block >= 1; values above the tile count mean "all of M".
  int m_block = 1;

  bool operator==(const GemmTileConfig&) const = default;
  std::string to_string() const;  // "6x16/mb18"
};

// The fixed micro-kernel set (mr x np): at most 12 accumulator registers on AVX2.
inline constexpr std::array<std::array<int, 2>, 6> kGemmKernelShapes = {
    {{1, 2}, {1, 4}, {2, 2}, {3, 2}, {4, 1}, {6, 1}}};

bool is_supported_gemm_kernel(int mr, int np);

// What SmoothGEMM uses for an untuned shape: a tile that wastes few rows of the last m-tile
// and a block of rows of x that fits in ~256 KiB of L2.
GemmTileConfig default_gemm_config(int m, int k, int num_panels, int num_workers);

}  // namespace xy::cpu
