#include "kernels/cpu/gemm_tile_config.h"

#include <algorithm>

namespace xy::cpu {

std::string GemmTileConfig::to_string() const {
  return std::to_string(mr) + "x" + std::to_string(16 * np) + "/mb" + std::to_string(m_block);
}

bool is_supported_gemm_kernel(int mr, int np) {
  return std::any_of(kGemmKernelShapes.begin(), kGemmKernelShapes.end(),
                     [&](const std::array<int, 2>& s) { return s[0] == mr && s[1] == np; });
}

GemmTileConfig default_gemm_config(int m, int k, int num_panels, int num_workers) {
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
  constexpr long kBlockBytes = 256 * 1024;
  const long rows = std::max<long>(c.mr, kBlockBytes / (4L * std::max(k, 1)));
  c.m_block = static_cast<int>(std::max<long>(1, rows / c.mr));
  return c;
}

}  // namespace xy::cpu
