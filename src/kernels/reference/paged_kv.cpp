#include "kernels/reference/paged_kv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "kernels/reference/widen.h"

namespace xy::ref {

void write_kv(const float* k, const float* v, const int64_t* slot_mapping, int n_tokens,
              const PagedKvLayer& layer) {
  const size_t hd = static_cast<size_t>(layer.head_dim);
  for (int t = 0; t < n_tokens; ++t) {
    const int64_t slot = slot_mapping[t];
    XY_CHECK_MSG(slot >= 0 && slot < layer.num_slots(), "KV slot outside the cache");
    for (int h = 0; h < layer.n_kv_heads; ++h) {
      const size_t src = (static_cast<size_t>(t) * layer.n_kv_heads + h) * hd;
      store_kv_row(layer, layer.k, slot, h, k + src);
      store_kv_row(layer, layer.v, slot, h, v + src);
    }
  }
}

void store_kv_row(const PagedKvLayer& layer, void* pool, int64_t slot, int head, const float* x) {
  const size_t at = layer.row_offset(slot, head) * dtype_size(layer.dtype);
  if (layer.dtype == DType::kI8) {
    quantize_kv_row(x, layer.head_dim, static_cast<int8_t*>(pool) + at,
                    layer.scales_of(pool) + layer.row_index(slot, head));
    return;
  }
  narrow_from_f32(layer.dtype, x, static_cast<char*>(pool) + at,
                  static_cast<size_t>(layer.head_dim));
}

void read_kv_row(const void* pool, const PagedKvLayer& layer, int64_t slot, int head, float* out) {
  const size_t at = layer.row_offset(slot, head) * dtype_size(layer.dtype);
  if (layer.dtype == DType::kI8) {
    dequantize_kv_row(static_cast<const int8_t*>(pool) + at,
                      layer.scales_of(pool)[layer.row_index(slot, head)], layer.head_dim, out);
    return;
  }
  widen_to_f32(layer.dtype, static_cast<const char*>(pool) + at, out,
               static_cast<size_t>(layer.head_dim));
}

void quantize_kv_row(const float* x, int n, int8_t* q, float* scale) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  for (int i = 0; i < n; ++i) {
    // max(-127, NaN) is -127: a NaN becomes a code, never an out-of-range cast.
    q[i] = static_cast<int8_t>(std::min(127.0f, std::max(-127.0f, std::nearbyint(x[i] * inv))));
  }
  *scale = amax / 127.0f;
}

void copy_kv_slot(const PagedKvLayer& layer, int64_t src, int64_t dst) {
  XY_CHECK(src >= 0 && src < layer.num_slots() && dst >= 0 && dst < layer.num_slots());
  const size_t elem = dtype_size(layer.dtype);
  const size_t bytes = static_cast<size_t>(layer.head_dim) * elem;
  for (int h = 0; h < layer.n_kv_heads; ++h) {
    const size_t from = layer.row_offset(src, h) * elem, to = layer.row_offset(dst, h) * elem;
    std::memcpy(static_cast<char*>(layer.k) + to, static_cast<const char*>(layer.k) + from, bytes);
    std::memcpy(static_cast<char*>(layer.v) + to, static_cast<const char*>(layer.v) + from, bytes);
    if (layer.dtype == DType::kI8) {
      layer.k_scale[layer.row_index(dst, h)] = layer.k_scale[layer.row_index(src, h)];
      layer.v_scale[layer.row_index(dst, h)] = layer.v_scale[layer.row_index(src, h)];
    }
  }
}

}  // namespace xy::ref
