#include "kernels/cpu/rope_kv_cpu.h"

#include <cstring>
#include <vector>

#include "core/check.h"
#include "kernels/cpu/row_split.h"
#include "kernels/reference/widen.h"

namespace xy::cpu {

namespace detail {

void rotate_scalar(const float* x, float* out, const float* c, const float* s, int half) {
  for (int i = 0; i < half; ++i) {
    const float x1 = x[i];
    const float x2 = x[i + half];
    out[i] = x1 * c[i] - x2 * s[i];
    out[i + half] = x2 * c[i] + x1 * s[i];
  }
}

void store_row_scalar(const float* src, void* dst, DType dtype, int n) {
  ref::narrow_from_f32(dtype, src, dst, static_cast<size_t>(n));
}

}  // namespace detail

void rope_qk_write_kv(const RopeKvArgs& a, const ref::PagedKvLayer& kv, WorkerPool& pool,
                      ElementwiseIsa isa) {
  XY_CHECK(a.n_tokens >= 0);
  if (a.n_tokens == 0) return;
  XY_CHECK(a.n_heads > 0 && a.n_kv_heads > 0 && a.head_dim > 0 && a.head_dim % 2 == 0);
  XY_CHECK(a.qkv != nullptr && a.cos != nullptr && a.sin != nullptr && a.slot_mapping != nullptr &&
           a.q_out != nullptr);
  XY_CHECK_MSG((a.q_norm == nullptr) == (a.k_norm == nullptr), "q_norm and k_norm go together");
  XY_CHECK_MSG(kv.n_kv_heads == a.n_kv_heads && kv.head_dim == a.head_dim,
               "KV layer shape does not match the projection");
  const int hd = a.head_dim;
  const int half = hd / 2;
  const int64_t width = static_cast<int64_t>(a.n_heads + 2 * a.n_kv_heads) * hd;
  const int64_t ld = a.ld_qkv != 0 ? a.ld_qkv : width;
  XY_CHECK(ld >= width);
  for (int t = 0; t < a.n_tokens; ++t) {
    XY_CHECK_MSG(a.slot_mapping[t] >= 0 && a.slot_mapping[t] < kv.num_slots(),
                 "KV slot outside the cache");
  }

  const detail::RmsNormRowFn norm = detail::rms_norm_row_fn(isa);
  const bool avx2 = isa == ElementwiseIsa::kAvx2;
  const detail::RotateFn rotate = avx2 ? &detail::rotate_avx2 : &detail::rotate_scalar;
  const detail::StoreRowFn store = avx2 ? &detail::store_row_avx2 : &detail::store_row_scalar;
  const size_t elem = dtype_size(kv.dtype);

  for_row_ranges(pool, a.n_tokens, 4, [&](int begin, int end) {
    // [head_dim] normalized / rotated head; head_dim is small, one allocation per task.
    std::vector<float> tmp(static_cast<size_t>(hd));
    for (int t = begin; t < end; ++t) {
      const float* row = a.qkv + t * ld;
      const float* c = a.cos + static_cast<size_t>(t) * half;
      const float* s = a.sin + static_cast<size_t>(t) * half;
      for (int h = 0; h < a.n_heads; ++h) {
        const float* src = row + static_cast<size_t>(h) * hd;
        float* dst = a.q_out + (static_cast<size_t>(t) * a.n_heads + h) * hd;
        if (a.q_norm != nullptr) {
          norm(src, a.q_norm, dst, hd, a.norm_eps);
          rotate(dst, dst, c, s, half);
        } else {
          rotate(src, dst, c, s, half);
        }
      }
      const int64_t slot = a.slot_mapping[t];
      const float* k_row = row + static_cast<size_t>(a.n_heads) * hd;
      const float* v_row = k_row + static_cast<size_t>(a.n_kv_heads) * hd;
      for (int h = 0; h < a.n_kv_heads; ++h) {
        const float* k_src = k_row + static_cast<size_t>(h) * hd;
        if (a.k_norm != nullptr) {
          norm(k_src, a.k_norm, tmp.data(), hd, a.norm_eps);
          rotate(tmp.data(), tmp.data(), c, s, half);
        } else {
          rotate(k_src, tmp.data(), c, s, half);
        }
        const size_t at = kv.row_offset(slot, h) * elem;
        if (kv.dtype == DType::kI8) {  // codes + a per-row scale: the one int8 writer
          ref::store_kv_row(kv, kv.k, slot, h, tmp.data());
          ref::store_kv_row(kv, kv.v, slot, h, v_row + static_cast<size_t>(h) * hd);
          continue;
        }
        store(tmp.data(), static_cast<char*>(kv.k) + at, kv.dtype, hd);
        store(v_row + static_cast<size_t>(h) * hd, static_cast<char*>(kv.v) + at, kv.dtype, hd);
      }
    }
  });
}

}  // namespace xy::cpu
