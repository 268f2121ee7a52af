// Element types of tensors on disk and in memory, and exact scalar conversions between them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace xy {

// kI8 is for KV caches only (int8 codes with a per-row scale kept beside them, see
// kernels/reference/paged_kv.h); the element converters below do not take it.
enum class DType : uint8_t { kF32, kF16, kBF16, kI8 };

constexpr size_t dtype_size(DType t) {
  return t == DType::kF32 ? 4 : (t == DType::kI8 ? 1 : 2);
}
constexpr std::string_view dtype_name(DType t) {
  return t == DType::kF32 ? "f32"
                          : (t == DType::kF16 ? "f16" : (t == DType::kI8 ? "int8" : "bf16"));
}

// bfloat16: the upper 16 bits of an IEEE float32.
struct bf16 {
  uint16_t bits = 0;
};

// Round to nearest even; NaN stays NaN (quiet).
inline bf16 f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<uint16_t>((u >> 16) | 0x40u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{static_cast<uint16_t>(u >> 16)};
}

inline float bf16_to_f32(bf16 h) {
  uint32_t u = static_cast<uint32_t>(h.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// IEEE half precision, converted in software so the scalar path needs no F16C.
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      u = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, overflow to infinity.
inline uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t absu = u & 0x7fffffffu;
  if (absu > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (absu >= 0x477ff000u) return sign | 0x7c00u;  // overflow -> inf
  if (absu < 0x38800000u) {                        // subnormal or zero in f16
    if (absu < 0x33000000u) return sign;           // underflow to 0
    // f16 subnormal unit is 2^-24; value = mant * 2^(exp - 150) with the implicit bit in mant.
    const uint32_t exp = absu >> 23;
    const uint32_t mant = (absu & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14 .. 24
    uint32_t q = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t v = absu - 0x38000000u;  // rebias exponent 127 -> 15
  const uint32_t rem = v & 0x1fffu;
  v >>= 13;
  if (rem > 0x1000u || (rem == 0x1000u && (v & 1u))) ++v;
  return static_cast<uint16_t>(sign | v);
}

// Bulk conversions of n elements from any dtype into float32 and back.
void convert_to_f32(DType src_type, const void* src, float* dst, size_t n);
void convert_from_f32(DType dst_type, const float* src, void* dst, size_t n);

}  // namespace xy
