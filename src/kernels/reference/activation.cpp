#include "kernels/reference/activation.h"

#include <cmath>

namespace xy::ref {

void silu_mul(const float* gate, const float* up, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    // exp(-g) overflows to inf for g < -88: g / inf = -0, the correct limit.
    out[i] = (g / (1.0f + std::exp(-g))) * up[i];
  }
}

}  // namespace xy::ref
