#include "kernels/reference/paged_kv.h"

#include "core/check.h"
#include "kernels/reference/widen.h"

namespace xy::ref {

void write_kv(const float* k, const float* v, const int64_t* slot_mapping, int n_tokens,
              const PagedKvLayer& layer) {
  const size_t elem = dtype_size(layer.dtype);
  const size_t hd = static_cast<size_t>(layer.head_dim);
  for (int t = 0; t < n_tokens; ++t) {
    const int64_t slot = slot_mapping[t];
    XY_CHECK_MSG(slot >= 0 && slot < layer.num_slots(), "KV slot outside the cache");
    for (int h = 0; h < layer.n_kv_heads; ++h) {
      const size_t src = (static_cast<size_t>(t) * layer.n_kv_heads + h) * hd;
      const size_t dst = layer.row_offset(slot, h) * elem;
      narrow_from_f32(layer.dtype, k + src, static_cast<char*>(layer.k) + dst, hd);
      narrow_from_f32(layer.dtype, v + src, static_cast<char*>(layer.v) + dst, hd);
    }
  }
}

void read_kv_row(const void* pool, const PagedKvLayer& layer, int64_t slot, int head, float* out) {
  const size_t at = layer.row_offset(slot, head) * dtype_size(layer.dtype);
  widen_to_f32(layer.dtype, static_cast<const char*>(pool) + at, out,
               static_cast<size_t>(layer.head_dim));
}

}  // namespace xy::ref
