#include "kernels/cpu/gemm_tile_config.h"

#include <algorithm>

namespace xy::cpu {

std::string GemmTileConfig::to_string() const {
  std::string s = std::to_string(mr) + "x" + std::to_string(16 * np);
  s += "/mb" + std::to_string(m_block);
  if (kc > 0) s += "/kc" + std::to_string(kc);
  return s;
}

std::span<const std::array<int, 2>> gemm_kernel_shapes(GemmIsa isa) {
  if (isa == GemmIsa::kAvx512 || isa == GemmIsa::kAvx512Bf16) return kGemmKernelShapesAvx512;
  return kGemmKernelShapes;
}

bool is_supported_gemm_kernel(GemmIsa isa, int mr, int np) {
  const auto shapes = gemm_kernel_shapes(isa);
  return std::any_of(shapes.begin(), shapes.end(),
                     [&](const std::array<int, 2>& s) { return s[0] == mr && s[1] == np; });
}

bool is_supported_gemm_kernel(int mr, int np) {
  // The AVX-512 set contains the portable one.
  return is_supported_gemm_kernel(GemmIsa::kAvx512, mr, np);
}

namespace {

// AVX-512 (32 zmm): the wide tiles. Among the tall ones, the one that pads the fewest rows of
// the last m-tile, preferring the taller on ties (more reuse of each panel vector).
void pick_avx512_kernel(int m, GemmTileConfig& c) {
  if (m <= 1) return;  // decode keeps the portable choice (bandwidth bound)
  if (m == 2) {
    c.mr = 2;
    c.np = 4;
    return;
  }
  if (m <= 4) {
    c.mr = 4;
    c.np = 4;
    return;
  }
  struct Option {
    int mr, np;
  };
  constexpr Option kTall[] = {{14, 2}, {12, 2}, {8, 2}, {6, 4}};
  int best_pad = 1 << 30;
  for (const Option& o : kTall) {
    if (o.mr > m + 2) continue;  // a tile much taller than M is mostly padding
    const int pad = (m + o.mr - 1) / o.mr * o.mr - m;
    if (pad < best_pad) {
      best_pad = pad;
      c.mr = o.mr;
      c.np = o.np;
    }
  }
  if (best_pad == 1 << 30) {
    c.mr = 6;
    c.np = 4;
  }
}

}  // namespace

GemmTileConfig default_gemm_config(int m, int k, int num_panels, int num_workers, GemmIsa isa) {
  GemmTileConfig c;
  if (m <= 1) {
    // Decode: bandwidth bound. Four panels give 8 independent FMA chains per tile; fall back to
    // two when there would be too few tiles to balance the workers.
    c.mr = 1;
    c.np = num_panels / 4 >= 4 * std::max(num_workers, 1) ? 4 : 2;
  } else if (m <= 3) {
    c.mr = m;
    c.np = 2;
  } else if (m == 4) {
    c.mr = 4;
    c.np = 1;
  } else {
    // Tallest tile unless the 4-row tile pads clearly fewer rows (M = 7, 8, 13...).
    const int pad6 = (m + 5) / 6 * 6 - m;
    const int pad4 = (m + 3) / 4 * 4 - m;
    c.mr = (m < 24 && pad4 + 2 < pad6) ? 4 : 6;
    c.np = 1;
  }
  if (isa == GemmIsa::kAvx512 || isa == GemmIsa::kAvx512Bf16) pick_avx512_kernel(m, c);
  // The rows of x one m-block reads per pass over its weight panels: f32 rows of all of K, or
  // for the vdpbf16ps path bf16 rows of one k-block (k-blocked above 2048, where whole panels
  // of a tile no longer sit in L2 beside its rows: 2 x 8192 x 32 B = 512 KiB; a single m-tile
  // has no other tile to share a k-block with, so it runs unblocked).
  long row_bytes = 4L * std::max(k, 1);
  if (isa == GemmIsa::kAvx512Bf16) {
    c.kc = (k > 2048 && m > c.mr) ? 1024 : 0;
    row_bytes = 2L * (c.kc > 0 ? c.kc : std::max(k, 1));
  }
  // Every m-block streams all of the weights once more. Weights that fit in the last-level
  // cache come back from it, and a block of x that stays in L2 is the better trade. Larger
  // weights come from DRAM on every pass, so the bf16 path takes 16x larger blocks (fewer
  // passes) and reads its rows of x from L3 instead: llama-3.2-1b's 64 MiB gate_up ran
  // 1.05-1.13x faster at M = 256 and 1024 so, while blocks that large slowed cache-resident
  // weights by up to 10% (docs/performance.md).
  long block_bytes = 256 * 1024;
  const long weight_bytes = 2L * 16 * num_panels * std::max(k, 1);
  if (isa == GemmIsa::kAvx512Bf16 && weight_bytes > kCacheResidentWeightBytes) {
    block_bytes = 4L * 1024 * 1024;
  }
  const long rows = std::max<long>(c.mr, block_bytes / row_bytes);
  c.m_block = static_cast<int>(std::max<long>(1, rows / c.mr));
  return c;
}

}  // namespace xy::cpu
