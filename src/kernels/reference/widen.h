// Element conversions used inside the reference kernels' loops. They call the inline scalar
// converters of core/dtype.h so the loops are compiled (and optimized) with the kernels, whatever
// the build type of core.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace xy::ref {

// dst[i] = src[i] widened to f32.   src: [n] in type, dst: [n] f32
inline void widen_to_f32(DType type, const void* src, float* dst, size_t n) {
  if (type == DType::kF32) {
    const auto* s = static_cast<const float*>(src);
    for (size_t i = 0; i < n; ++i) dst[i] = s[i];
    return;
  }
  const auto* s = static_cast<const uint16_t*>(src);
  if (type == DType::kBF16) {
    for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(bf16{s[i]});
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
  }
}

// dst[i] = src[i] rounded to type (nearest even).   src: [n] f32, dst: [n] in type
inline void narrow_from_f32(DType type, const float* src, void* dst, size_t n) {
  if (type == DType::kF32) {
    auto* d = static_cast<float*>(dst);
    for (size_t i = 0; i < n; ++i) d[i] = src[i];
    return;
  }
  auto* d = static_cast<uint16_t*>(dst);
  if (type == DType::kBF16) {
    for (size_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]).bits;
  } else {
    for (size_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
  }
}

}  // namespace xy::ref
