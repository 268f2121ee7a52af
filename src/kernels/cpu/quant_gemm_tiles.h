// Internal interface between the QuantGEMM driver (quant_gemm.cpp) and its per-ISA files
// (quant_gemm_scalar.cpp, quant_gemm_avx512.cpp). Not for use outside src/kernels/cpu.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/smooth_gemm_tiles.h"

namespace xy::cpu {
class QuantWeight;  // quant_weight.h
}

namespace xy::cpu::detail {

// x quantized per row and per 32 k (see quant_gemm.h). Row r, group g: codes
// q[r * ldq + 32 g ...], scale[r * lds + g], sum[...] = Σ codes, scaled_sum[...] = scale * sum,
// half_sum[...] = Σ of the first 16 codes (6-bit weights scale the two halves separately).
struct QuantizedRows {
  int8_t* q = nullptr;
  int64_t ldq = 0;
  float* scale = nullptr;
  int32_t* sum = nullptr;
  float* scaled_sum = nullptr;
  int32_t* half_sum = nullptr;
  int64_t lds = 0;
};

// Row pointers of an MR-row tile into QuantizedRows; rows at or past m read row m - 1 (virtual
// padding: computed, never stored).
template <int MR>
struct TileRows {
  const int8_t* q[MR];
  const float* scale[MR];
  const int32_t* sum[MR];
  const float* scaled_sum[MR];
  const int32_t* half_sum[MR];
  TileRows(const QuantizedRows& a, int m, int m0) {
    for (int r = 0; r < MR; ++r) {
      const int64_t row = m0 + r < m ? m0 + r : m - 1;
      q[r] = a.q + row * a.ldq;
      scale[r] = a.scale + row * a.lds;
      sum[r] = a.sum + row * a.lds;
      scaled_sum[r] = a.scaled_sum + row * a.lds;
      half_sum[r] = a.half_sum + row * a.lds;
    }
  }
};

struct QuantGemmProblem {
  GemmProblem out;  // m, k, y, strides, bias, residual, gate_up, out_cols (x unused)
  const uint8_t* panels = nullptr;
  size_t panel_bytes = 0;
  size_t block_bytes = 0;
  int groups = 0;  // k / 32
  int offset = 0;  // symmetric weights: code offset
  QuantizedRows a;
};

// The problem of `args` over w's panels, with x's rows quantized in `a`: what every tile reads
// (the driver's, and a benchmark's that runs tiles alone).
QuantGemmProblem quant_gemm_problem(const QuantWeight& w, const GemmArgs& args,
                                    const QuantizedRows& a);

// Computes the tile at (m0, panel0). next_panels: which of the next n-tile's panels (bit q: panel
// q) it may fetch into L2 meanwhile (gemm_next_panels.h; a hint, kernels without it ignore it).
using QuantTileFn = void (*)(const QuantGemmProblem& problem, int m0, int panel0,
                             uint32_t next_panels);

// nullptr when (mr, np) is not in kQuantGemmKernelShapes or (bits, has_min) is not one of (4, *),
// (8, *), (6, false). The scalar
// quantizer serves the scalar and AVX2 paths.
QuantTileFn scalar_quant_tile_fn(int mr, int np, int bits, bool has_min);
QuantTileFn avx2_quant_tile_fn(int mr, int np, int bits, bool has_min);
QuantTileFn avx512_vnni_quant_tile_fn(int mr, int np, int bits, bool has_min);

// Quantizes rows [0, m) of x (row stride ldx, k a multiple of 32) into `out` (rows 0..m-1).
// Both give the same bits (same operations; vector rounding as std::nearbyint's default mode).
void quantize_rows_scalar(const float* x, int64_t ldx, int m, int k, const QuantizedRows& out);
void quantize_rows_avx512(const float* x, int64_t ldx, int m, int k, const QuantizedRows& out);

}  // namespace xy::cpu::detail
