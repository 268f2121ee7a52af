// Shared helpers for the SmoothGEMM tests: random data, reference computation on a chosen set
// of output columns, error metrics.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "common/rel_l2.h"
#include "core/dtype.h"
#include "kernels/reference/activation.h"
#include "kernels/reference/linear.h"

namespace xy::cpu::testing {

using xy::testing_common::rel_l2;

// splitmix64: fast enough to fill the 262M-element lm_head of llama-3.2-1b in well under a
// second, which std::mt19937 + uniform_real_distribution is not.
class FastRng {
 public:
  explicit FastRng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [-scale, scale).
  float uniform(float scale) {
    return (static_cast<float>(next() >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f) * scale;
  }

 private:
  uint64_t state_;
};

inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale = 1.0f) {
  FastRng fast(rng());
  std::vector<float> v(n);
  for (float& f : v) f = fast.uniform(scale);
  return v;
}

// A random weight [rows, k] stored in `dtype` (f32 or bf16), as raw bytes.
inline std::vector<uint8_t> random_weight(int rows, int k, DType dtype, std::mt19937& rng) {
  FastRng fast(rng());
  const size_t n = static_cast<size_t>(rows) * k;
  std::vector<uint8_t> bytes(n * dtype_size(dtype));
  if (dtype == DType::kBF16) {
    bf16* w = reinterpret_cast<bf16*>(bytes.data());
    for (size_t i = 0; i < n; ++i) w[i] = f32_to_bf16(fast.uniform(0.5f));
  } else {
    float* w = reinterpret_cast<float*>(bytes.data());
    for (size_t i = 0; i < n; ++i) w[i] = fast.uniform(0.5f);
  }
  return bytes;
}

inline bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, 4) == 0;
}

// Reference y[:, cols] for x[m, k] (row stride ldx) and the source weight (HF layout):
// plain: x·W[c]ᵀ + bias[c] (+ residual[:, c]); gate_up (w has 2I rows): silu(gate_c)·up_c.
// Returns [m, cols.size()]. Only the selected weight rows are touched, so big shapes stay cheap.
inline std::vector<float> reference_columns(const float* x, int m, int k, int64_t ldx,
                                            const uint8_t* w, DType w_dtype, int w_rows,
                                            bool gate_up, const float* bias, const float* residual,
                                            int64_t ldr, const std::vector<int>& cols) {
  const int nc = static_cast<int>(cols.size());
  const size_t row_bytes = static_cast<size_t>(k) * dtype_size(w_dtype);
  std::vector<float> xc(static_cast<size_t>(m) * k);  // ref::linear wants contiguous rows
  for (int r = 0; r < m; ++r) std::memcpy(&xc[static_cast<size_t>(r) * k], x + r * ldx, k * 4);
  auto project = [&](int row_offset, const float* b) {
    std::vector<uint8_t> sub(static_cast<size_t>(nc) * row_bytes);
    std::vector<float> sub_bias(static_cast<size_t>(nc));
    for (int i = 0; i < nc; ++i) {
      std::memcpy(&sub[i * row_bytes], w + static_cast<size_t>(row_offset + cols[i]) * row_bytes,
                  row_bytes);
      if (b != nullptr) sub_bias[i] = b[row_offset + cols[i]];
    }
    std::vector<float> y(static_cast<size_t>(m) * nc);
    ref::linear(xc.data(), sub.data(), w_dtype, b != nullptr ? sub_bias.data() : nullptr, y.data(),
                m, nc, k);
    return y;
  };
  if (!gate_up) {
    std::vector<float> y = project(0, bias);
    if (residual != nullptr) {
      for (int r = 0; r < m; ++r)
        for (int i = 0; i < nc; ++i) y[r * nc + i] += residual[r * ldr + cols[i]];
    }
    return y;
  }
  const std::vector<float> gate = project(0, bias);
  const std::vector<float> up = project(w_rows / 2, bias);
  std::vector<float> y(gate.size());
  ref::silu_mul(gate.data(), up.data(), y.data(), y.size());
  return y;
}

}  // namespace xy::cpu::testing
