// exp(x) and SiLU(gate)·up on 8 f32 lanes with the operation sequence of smooth_gemm_tiles.h,
// shared by the AVX2 and AVX-512 kernel files (the scalar path mirrors it in
// smooth_gemm_scalar.cpp, so every ISA produces the same bits).
//
// Include only from files compiled with at least -mavx2 -mfma. The functions have internal
// linkage on purpose: each including file is compiled for a different ISA, and an ordinary
// inline function would let the linker keep one file's copy (say, EVEX-encoded AVX-512 code) for
// every caller, including the AVX2 path on CPUs without AVX-512.
#pragma once

#include <immintrin.h>

#include "kernels/cpu/smooth_gemm_tiles.h"

namespace xy::cpu::detail {
namespace {  // NOLINT(google-build-namespaces): see above

inline __m256 exp_poly(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kExpClampLo)), _mm256_set1_ps(kExpClampHi));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Hi), x);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpPoly[0]);
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpPoly[i]));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 silu_mul(__m256 gate, __m256 up) {
  const __m256 e = exp_poly(_mm256_sub_ps(_mm256_setzero_ps(), gate));
  const __m256 silu = _mm256_div_ps(gate, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  return _mm256_mul_ps(silu, up);
}

}  // namespace
}  // namespace xy::cpu::detail
