// cpu::rope_qk_write_kv vs the reference sequence ref::rms_norm_heads (Qwen3 q/k norm) +
// ref::apply_rope + ref::write_kv, on random projections, positions and slot mappings: every
// ISA path, f32/bf16/f16 pools, with and without q/k norm, several head shapes, strided input.
// Same operation sequence as the reference, so the queries and the pools must match bitwise.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "elementwise_test_util.h"
#include "kernels/cpu/rope_kv_cpu.h"
#include "kernels/reference/rms_norm.h"
#include "kernels/reference/rope.h"

namespace xy::cpu {
namespace {

struct Pools {
  std::vector<uint8_t> k, v;
  std::vector<float> k_scale, v_scale;  // int8 pools
  ref::PagedKvLayer layer;
  Pools(int num_blocks, int block_size, int n_kv, int hd, DType dtype) {
    const size_t rows = static_cast<size_t>(num_blocks) * block_size * n_kv;
    const size_t bytes = rows * hd * dtype_size(dtype);
    k.assign(bytes, 0xab);  // garbage: only written slots may change
    v.assign(bytes, 0xcd);
    layer = ref::PagedKvLayer{k.data(), v.data(), dtype, num_blocks, block_size, n_kv, hd};
    if (dtype == DType::kI8) {
      k_scale.assign(rows, -1.0f);
      v_scale.assign(rows, -2.0f);
      layer.k_scale = k_scale.data();
      layer.v_scale = v_scale.data();
    }
  }
};

struct Shape {
  int n_heads, n_kv_heads, head_dim;
};

TEST(RopeKvCpu, MatchesReferenceBitwise) {
  std::mt19937 rng(21);
  WorkerPool one({.num_workers = 1});
  WorkerPool two({.num_workers = 2});
  const ref::RopeFrequencyParams rope{};
  for (const Shape sh : {Shape{1, 1, 2}, {4, 2, 6}, {9, 3, 64}, {8, 2, 128}, {14, 2, 64}}) {
    const int hd = sh.head_dim, half = hd / 2;
    const int q_size = sh.n_heads * hd, kv_size = sh.n_kv_heads * hd;
    const int width = q_size + 2 * kv_size;
    const std::vector<float> inv_freq = ref::rope_inv_freq(hd, rope);
    for (int n : {1, 3, 17, 40}) {
      const int block_size = 4, num_blocks = (n + 5 + block_size - 1) / block_size + 1;
      const int ld = width + 3;  // strided rows, like a wider fused GEMM output
      const auto qkv = testing::uniform_floats(static_cast<size_t>(n) * ld, rng, -2, 2);
      std::vector<int32_t> positions(static_cast<size_t>(n));
      for (auto& p : positions) p = static_cast<int32_t>(rng() % 5000);
      std::vector<int64_t> slots(static_cast<size_t>(num_blocks) * block_size);
      std::iota(slots.begin(), slots.end(), 0);
      std::shuffle(slots.begin(), slots.end(), rng);
      slots.resize(static_cast<size_t>(n));
      std::vector<float> cos(static_cast<size_t>(n) * half), sin(cos.size());
      ref::rope_cos_sin(positions.data(), n, inv_freq.data(), half, cos.data(), sin.data());
      const auto q_norm = testing::uniform_floats(static_cast<size_t>(hd), rng, 0.5f, 1.5f);
      const auto k_norm = testing::uniform_floats(static_cast<size_t>(hd), rng, 0.5f, 1.5f);

      for (bool qk_norm : {false, true}) {
        // The reference: split q/k/v, norm, rotate, write.
        std::vector<float> q(static_cast<size_t>(n) * q_size), k(static_cast<size_t>(n) * kv_size),
            v(k.size());
        for (int t = 0; t < n; ++t) {
          const float* row = &qkv[static_cast<size_t>(t) * ld];
          std::copy_n(row, q_size, &q[static_cast<size_t>(t) * q_size]);
          std::copy_n(row + q_size, kv_size, &k[static_cast<size_t>(t) * kv_size]);
          std::copy_n(row + q_size + kv_size, kv_size, &v[static_cast<size_t>(t) * kv_size]);
        }
        if (qk_norm) {
          ref::rms_norm_heads(q.data(), q_norm.data(), q.data(), n, sh.n_heads, hd, 1e-6f);
          ref::rms_norm_heads(k.data(), k_norm.data(), k.data(), n, sh.n_kv_heads, hd, 1e-6f);
        }
        ref::apply_rope(q.data(), n, sh.n_heads, hd, cos.data(), sin.data());
        ref::apply_rope(k.data(), n, sh.n_kv_heads, hd, cos.data(), sin.data());
        for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16, DType::kI8}) {
          Pools want(num_blocks, block_size, sh.n_kv_heads, hd, dtype);
          ref::write_kv(k.data(), v.data(), slots.data(), n, want.layer);
          for (ElementwiseIsa isa : testing::runnable_isas()) {
            for (WorkerPool* pool : {&one, &two}) {
              Pools got(num_blocks, block_size, sh.n_kv_heads, hd, dtype);
              std::vector<float> q_out(q.size(), -7.0f);
              RopeKvArgs a;
              a.n_tokens = n;
              a.n_heads = sh.n_heads;
              a.n_kv_heads = sh.n_kv_heads;
              a.head_dim = hd;
              a.qkv = qkv.data();
              a.ld_qkv = ld;
              a.q_norm = qk_norm ? q_norm.data() : nullptr;
              a.k_norm = qk_norm ? k_norm.data() : nullptr;
              a.norm_eps = 1e-6f;
              a.cos = cos.data();
              a.sin = sin.data();
              a.slot_mapping = slots.data();
              a.q_out = q_out.data();
              rope_qk_write_kv(a, got.layer, *pool, isa);
              const std::string what = std::string(testing::isa_label(isa)) + " " +
                                       std::string(dtype_name(dtype)) + " heads " +
                                       std::to_string(sh.n_heads) + "/" +
                                       std::to_string(sh.n_kv_heads) + "x" + std::to_string(hd) +
                                       " n " + std::to_string(n) + (qk_norm ? " qk-norm" : "");
              EXPECT_TRUE(testing::bitwise_equal(q_out.data(), q.data(), q.size() * 4)) << what;
              EXPECT_TRUE(got.k == want.k) << what;
              EXPECT_TRUE(got.v == want.v) << what;
              EXPECT_TRUE(got.k_scale == want.k_scale && got.v_scale == want.v_scale) << what;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace xy::cpu
