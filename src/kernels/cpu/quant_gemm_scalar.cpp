// Portable QuantGEMM micro-kernels and activation quantizer: the fallback for CPUs without
// AVX-512 VNNI and the bitwise oracle of the vector path (the same integer sums and the same f32
// operation sequence per group; see quant_gemm.h).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/gemm_epilogue_scalar.h"
#include "kernels/cpu/quant_gemm_tile_table.h"
#include "kernels/cpu/quant_gemm_tiles.h"
#include "kernels/cpu/quant_weight.h"

namespace xy::cpu::detail {

namespace {

float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

template <int MR, int NP, int BITS, bool MIN>
void tile(const QuantGemmProblem& p, int m0, int panel0) {
  constexpr int NC = 16 * NP;
  constexpr size_t kScales = QuantWeight::scales_offset(BITS),
                   kExtra = QuantWeight::extra_offset(BITS);
  const int m = p.out.m;
  int64_t row[MR];
  for (int r = 0; r < MR; ++r) row[r] = std::min(m0 + r, m - 1);  // virtual padding
  float acc[MR][NC] = {};
  for (int g = 0; g < p.groups; ++g) {
    for (int q = 0; q < NP; ++q) {
      const uint8_t* blk =
          p.panels + static_cast<size_t>(panel0 + q) * p.panel_bytes + g * p.block_bytes;
      for (int lane = 0; lane < 16; ++lane) {
        const float d = load_f16(blk + kScales + 2 * lane);
        const float mn = MIN ? load_f16(blk + kExtra + 2 * lane) : 0.0f;
        for (int r = 0; r < MR; ++r) {
          const int8_t* xq = p.a.q + row[r] * p.a.ldq + 32 * g;
          const int64_t s = row[r] * p.a.lds + g;
          float& out = acc[r][q * 16 + lane];
          if constexpr (BITS == 6) {
            // Each 16-k half's exact sum times its int8 sub-scale, in integers: |dot| is at most
            // 2 * 16 * 32 * 127 * 128 < 2^24, so float(dot) is exact too.
            const int32_t half_sum[2] = {p.a.half_sum[s], p.a.sum[s] - p.a.half_sum[s]};
            int32_t dot = 0;
            for (int h = 0; h < 2; ++h) {
              int32_t part = -p.offset * half_sum[h];
              for (int i = 16 * h; i < 16 * h + 16; ++i)
                part += panel_code(blk, 6, i, lane) * xq[i];
              dot += part * static_cast<int8_t>(blk[kExtra + 16 * h + lane]);
            }
            out = std::fma(float(dot), d * p.a.scale[s], out);
            continue;
          }
          int32_t dot = MIN ? 0 : -p.offset * p.a.sum[s];
          for (int i = 0; i < 32; ++i) dot += panel_code(blk, BITS, i, lane) * xq[i];
          out = std::fma(float(dot), d * p.a.scale[s], out);
          if (MIN) out = std::fma(0.0f - mn, p.a.scaled_sum[s], out);
        }
      }
    }
  }
  store_tile_scalar(p.out, m0, panel0, MR, NP, &acc[0][0]);
}

struct Tiles {
  template <int MR, int NP, int BITS, bool MIN>
  static void run(const QuantGemmProblem& p, int m0, int panel0, uint32_t /*next_panels*/) {
    tile<MR, NP, BITS, MIN>(p, m0, panel0);
  }
};

}  // namespace

QuantTileFn scalar_quant_tile_fn(int mr, int np, int bits, bool has_min) {
  return quant_tile_for<Tiles>(mr, np, bits, has_min);
}

void quantize_rows_scalar(const float* x, int64_t ldx, int m, int k, const QuantizedRows& out) {
  for (int r = 0; r < m; ++r) {
    const float* xr = x + r * ldx;
    for (int g = 0; g < k / 32; ++g) {
      const float* xg = xr + 32 * g;
      int8_t* q = out.q + r * out.ldq + 32 * g;
      float amax = 0.0f;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(xg[i]));
      int32_t sum = 0, half_sum = 0;
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      for (int i = 0; i < 32; ++i) {
        // max(-127, NaN) is -127: a NaN input becomes a code, never an out-of-range cast.
        const float v = std::min(127.0f, std::max(-127.0f, std::nearbyint(xg[i] * inv)));
        q[i] = static_cast<int8_t>(v);
        sum += q[i];
        if (i == 15) half_sum = sum;
      }
      out.half_sum[r * out.lds + g] = half_sum;
      const float scale = amax / 127.0f;
      out.scale[r * out.lds + g] = scale;
      out.sum[r * out.lds + g] = sum;
      out.scaled_sum[r * out.lds + g] = scale * float(sum);
    }
  }
}

}  // namespace xy::cpu::detail
