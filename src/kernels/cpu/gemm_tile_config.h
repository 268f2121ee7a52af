// The knobs of one SmoothGEMM call: which register-tile micro-kernel and which task order.
// Everything here is a performance choice: every config computes bit-identical results
// (each output element is one FMA chain over k = 0..K-1, see smooth_gemm.h).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "core/dtype.h"
#include "kernels/cpu/packed_weight.h"

namespace xy::cpu {

// The micro-kernel family a SmoothGEMM runs on (chosen at run time, see smooth_gemm.h).
// kAvx512Bf16 is an opt-in numerics mode (x rounded to bf16, vdpbf16ps), never picked
// automatically.
enum class GemmIsa : uint8_t { kScalar, kAvx2, kAvx512, kAvx512Bf16 };

struct GemmTileConfig {
  int mr = 6;  // rows of x per micro-tile (the register tile height)
  int np = 1;  // 16-column weight panels per micro-tile (tile width = 16 * np)
  // Task order: the (m_tile, n_tile) grid is walked as m-blocks of `m_block` m-tiles; inside a
  // block, n-tiles outer and m-tiles inner, so a weight panel is reused from L1/L2 across the
  // block while the block's rows of x stay in L2. Contiguous equal slices of that order form
  // the workers' Task-Table rows. m_block >= 1; values above the tile count mean "all of M".
  int m_block = 1;
  // k-block of the vdpbf16ps path (GemmIsa::kAvx512Bf16), in k elements (even; 0 = all of K).
  // A run of m-tiles of one m-block sharing an n-tile is computed one k-block at a time, so the
  // k-block of the weight panels is read from L1/L2 by every m-tile of the run instead of the
  // whole K-long panels once per m-tile (which does not fit in L2 at K = 8192). The
  // accumulators are parked in f32 between k-blocks, so each element is still the same chain of
  // vdpbf16ps over k = 0..K-1: the bits do not depend on kc. Other ISAs ignore it.
  int kc = 0;

  bool operator==(const GemmTileConfig&) const = default;
  std::string to_string() const;  // "6x16/mb18", "14x32/mb8/kc512"
};

// The portable micro-kernel set (mr x np), implemented by every ISA: at most 12 accumulator
// registers on AVX2 (16 ymm).
inline constexpr std::array<std::array<int, 2>, 6> kGemmKernelShapes = {
    {{1, 2}, {1, 4}, {2, 2}, {3, 2}, {4, 1}, {6, 1}}};
// The AVX-512 set: the portable set plus wide tiles for 32 zmm registers (a 16-column panel is
// one zmm; up to 28 accumulators + the panel vectors + one broadcast).
inline constexpr std::array<std::array<int, 2>, 12> kGemmKernelShapesAvx512 = {{{1, 2},
                                                                                {1, 4},
                                                                                {2, 2},
                                                                                {3, 2},
                                                                                {4, 1},
                                                                                {6, 1},
                                                                                {2, 4},
                                                                                {4, 4},
                                                                                {6, 4},
                                                                                {8, 2},
                                                                                {12, 2},
                                                                                {14, 2}}};

// The kernel shapes `isa` implements.
std::span<const std::array<int, 2>> gemm_kernel_shapes(GemmIsa isa);
// True when `isa` has an (mr, np) micro-kernel.
bool is_supported_gemm_kernel(GemmIsa isa, int mr, int np);
// True when some ISA has it (e.g. to validate a tune table before knowing where it will run).
bool is_supported_gemm_kernel(int mr, int np);

// bf16 weights above this many bytes are taken to stream from DRAM on every pass: larger than
// the L3 of a Zen 4/5 CCD (32 MiB), the share of the last-level cache one GEMM can count on.
// (sysconf's L3 size is the whole socket's, or a hypervisor's fiction, so it is not asked.)
inline constexpr long kCacheResidentWeightBytes = 32L * 1024 * 1024;

// What SmoothGEMM uses for an untuned shape on `isa`: a tile that wastes few rows of the last
// m-tile and a block of rows of x that fits in ~256 KiB of L2 (on kAvx512Bf16, bf16 rows of a
// 1024-long k-block when K > 2048; 4 MiB of them when the num_panels x 16 x k bf16 weights
// exceed kCacheResidentWeightBytes). Always one of `isa`'s kernels.
GemmTileConfig default_gemm_config(int m, int k, int num_panels, int num_workers,
                                   GemmIsa isa = GemmIsa::kAvx2);

}  // namespace xy::cpu
