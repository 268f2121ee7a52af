// Shared helpers for the CPU element-wise kernel tests (norm, rope + KV write, embedding): the
// ISAs this machine can run and bitwise comparison of float buffers.
#pragma once

#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/rms_norm_cpu.h"

namespace xy::cpu::testing {

inline std::vector<ElementwiseIsa> runnable_isas() {
  std::vector<ElementwiseIsa> isas = {ElementwiseIsa::kScalar};
  if (elementwise_isa_supported(ElementwiseIsa::kAvx2)) isas.push_back(ElementwiseIsa::kAvx2);
  return isas;
}

inline const char* isa_label(ElementwiseIsa isa) {
  return isa == ElementwiseIsa::kAvx2 ? "avx2" : "scalar";
}

inline std::vector<float> uniform_floats(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& f : v) f = d(rng);
  return v;
}

inline bool bitwise_equal(const void* a, const void* b, size_t bytes) {
  return std::memcmp(a, b, bytes) == 0;
}

}  // namespace xy::cpu::testing
