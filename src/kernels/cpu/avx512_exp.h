// exp(x) on 16 f32 lanes with the operation sequence of avx2_exp.h's exp_poly (clamp, x*log2e,
// round to nearest even, two FMA range reductions, FMA Horner, r*r, FMA, +1, scale by 2^n), so
// a lane gives the bits the AVX2 and scalar paths give.
//
// Include only from files compiled with -mavx512f; internal linkage for the reason given in
// avx2_exp.h.
#pragma once

#include <immintrin.h>

#include "kernels/cpu/smooth_gemm_tiles.h"

namespace xy::cpu::detail {
namespace {  // NOLINT(google-build-namespaces): see avx2_exp.h

inline __m512 exp_poly16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kExpClampLo)), _mm512_set1_ps(kExpClampHi));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Hi), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kExpPoly[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpPoly[i]));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
  p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
  const __m512i e =
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

}  // namespace
}  // namespace xy::cpu::detail
