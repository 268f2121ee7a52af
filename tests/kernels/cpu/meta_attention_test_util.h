// Shared helpers for the meta-attention tests: random mixed steps over a paged KV pool.
//
// A sequence's data is a pure function of its seed and of logical indices (K/V of key L, q of
// the token at logical index L, its tree shape), never of the step it appears in or of where
// its blocks lie, so the same sequence can be placed in different steps (alone, in a batch,
// chunked differently) and its output rows compared bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "common/rel_l2.h"
#include "core/dtype.h"
#include "kernels/cpu/meta_attention.h"
#include "kernels/reference/paged_attention.h"
#include "kernels/reference/paged_kv.h"
#include "kernels/reference/widen.h"
#include "model/token_table.h"

namespace xy::cpu::testing {

using xy::testing_common::rel_l2;

// Every attention ISA this CPU can run (scalar always), so each test covers them all.
inline std::vector<AttentionIsa> supported_attention_isas() {
  std::vector<AttentionIsa> out{AttentionIsa::kScalar};
  if (attention_isa_supported(AttentionIsa::kAvx2)) out.push_back(AttentionIsa::kAvx2);
  if (attention_isa_supported(AttentionIsa::kAvx512Bf16)) out.push_back(AttentionIsa::kAvx512Bf16);
  return out;
}

struct SeqSpec {
  uint64_t seed = 1;  // identity of the sequence: its K/V/q/tree data
  int kv_len = 0;     // cached tokens before the step
  int num_tokens = 1;
  SegmentKind kind = SegmentKind::kPrefill;
  bool tree = false;  // verify only: a random tree mask instead of a chain
};

struct AttnDims {
  int n_kv_heads = 2;
  int group = 1;
  int head_dim = 64;
  int block_size = 16;
  DType dtype = DType::kF32;
  int n_heads() const { return n_kv_heads * group; }
};

// Whether `isa` computes in bf16 on these pools (vdpbf16ps: q and probabilities rounded to bf16)
// rather than in f32 on widened K/V.
inline bool computes_in_bf16(AttentionIsa isa, const AttnDims& d) {
  return isa == AttentionIsa::kAvx512Bf16 && d.dtype == DType::kBF16 && d.head_dim % 32 == 0;
}

// Relative L2 bound against the reference: f32 rounding only (measured 1e-7 .. 4e-7) for the f32
// paths, bf16 rounding of q and of the probabilities for the vdpbf16ps path.
inline double attention_tolerance(AttentionIsa isa, const AttnDims& d) {
  return computes_in_bf16(isa, d) ? 1e-2 : 1e-5;
}

// A step ready to run: table, q, pools (owned) and the view over them.
struct AttnStep {
  AttnDims dims;
  TokenTable table;
  std::vector<float> q;  // [n_tokens, n_heads, head_dim]
  std::vector<uint8_t> k_pool, v_pool;
  std::vector<float> k_scale, v_scale;  // int8 pools: per-row scales
  ref::PagedKvLayer layer;
};

inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline float to_uniform(uint64_t h) {  // [-1, 1)
  return static_cast<float>(h >> 40) * (1.0f / 8388608.0f) - 1.0f;
}

// dst[d] = scale * uniform, a pure function of (a, b, c, d): one hash per row, one per element.
inline void hash_row(uint64_t a, uint64_t b, uint64_t c, float scale, float* dst, int n) {
  const uint64_t row = mix64(mix64(mix64(a) ^ b) ^ c);
  for (int d = 0; d < n; ++d) dst[d] = scale * to_uniform(mix64(row + static_cast<uint64_t>(d)));
}

// Tree of a verify segment: parent[i] in [-1, i) (-1: child of the last cached token).
inline std::vector<int> tree_parents(uint64_t seed, int n) {
  std::vector<int> parent(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const uint64_t h = mix64(seed * 31 + static_cast<uint64_t>(i) + 7777);
    parent[static_cast<size_t>(i)] = static_cast<int>(h % static_cast<uint64_t>(i + 1)) - 1;
  }
  return parent;
}

// Builds the step. Blocks of all sequences are shuffled in the pool with placement_seed; the
// pool is filled with junk first, so a kernel reading outside its blocks is caught.
inline AttnStep make_attn_step(const std::vector<SeqSpec>& specs, const AttnDims& dims,
                               uint32_t placement_seed) {
  AttnStep st;
  st.dims = dims;
  const int hd = dims.head_dim, bs = dims.block_size, nkv = dims.n_kv_heads;
  int total_blocks = 2;
  for (const SeqSpec& s : specs) total_blocks += (s.kv_len + s.num_tokens + bs - 1) / bs;
  std::vector<int32_t> blocks(static_cast<size_t>(total_blocks));
  std::iota(blocks.begin(), blocks.end(), 0);
  std::mt19937 rng(placement_seed);
  std::shuffle(blocks.begin(), blocks.end(), rng);

  const size_t pool_elems = static_cast<size_t>(total_blocks) * bs * nkv * hd;
  const size_t esize = dtype_size(dims.dtype);
  st.k_pool.assign(pool_elems * esize, 0);
  st.v_pool.assign(pool_elems * esize, 0);
  st.layer =
      ref::PagedKvLayer{st.k_pool.data(), st.v_pool.data(), dims.dtype, total_blocks, bs, nkv, hd};
  if (dims.dtype == DType::kI8) {  // one f32 scale per (slot, head) row
    st.k_scale.assign(pool_elems / static_cast<size_t>(hd), 0.0f);
    st.v_scale.assign(pool_elems / static_cast<size_t>(hd), 0.0f);
    st.layer.k_scale = st.k_scale.data();
    st.layer.v_scale = st.v_scale.data();
  }
  // Row (slot, head) of K or V set to `x` in the pool's dtype.
  auto put_row = [&](bool key, int64_t slot, int h, const float* x) {
    const size_t off = st.layer.row_offset(slot, h);
    uint8_t* pool = key ? st.k_pool.data() : st.v_pool.data();
    if (dims.dtype == DType::kI8) {
      float* scales = key ? st.layer.k_scale : st.layer.v_scale;
      ref::quantize_kv_row(x, hd, reinterpret_cast<int8_t*>(pool) + off,
                           scales + st.layer.row_index(slot, h));
    } else {
      ref::narrow_from_f32(dims.dtype, x, pool + off * esize, static_cast<size_t>(hd));
    }
  };
  {
    std::vector<float> junk(static_cast<size_t>(hd));
    for (int64_t slot = 0; slot < int64_t(total_blocks) * bs; ++slot) {
      for (int h = 0; h < nkv; ++h) {
        for (int i = 0; i < hd; ++i)
          junk[size_t(i)] =
              1e3f * to_uniform(mix64(placement_seed + uint64_t(slot * nkv + h) * hd + i));
        put_row(true, slot, h, junk.data());
        put_row(false, slot, h, junk.data());
      }
    }
  }

  size_t next_block = 0;
  std::vector<float> row(static_cast<size_t>(hd));
  for (const SeqSpec& spec : specs) {
    Segment seg;
    seg.seq_id = static_cast<int>(spec.seed);
    seg.kind = spec.kind;
    seg.start = st.table.num_tokens();
    seg.num_tokens = spec.num_tokens;
    seg.kv_len = spec.kv_len;
    const int n_keys = spec.kv_len + spec.num_tokens;
    seg.num_blocks = (n_keys + bs - 1) / bs;
    seg.block_table_offset = static_cast<int>(st.table.block_tables.size());
    for (int b = 0; b < seg.num_blocks; ++b) st.table.block_tables.push_back(blocks[next_block++]);
    const int32_t* bt = st.table.block_tables.data() + seg.block_table_offset;

    // K/V of every logical key (cached and the step's own).
    for (int j = 0; j < n_keys; ++j) {
      const int64_t slot = static_cast<int64_t>(bt[j / bs]) * bs + j % bs;
      for (int h = 0; h < nkv; ++h) {
        hash_row(spec.seed, static_cast<uint64_t>(j), static_cast<uint64_t>(h), 1.0f, row.data(),
                 hd);
        put_row(true, slot, h, row.data());
        hash_row(spec.seed ^ 0x5555, static_cast<uint64_t>(j), static_cast<uint64_t>(h), 1.0f,
                 row.data(), hd);
        put_row(false, slot, h, row.data());
      }
    }

    // Tokens: positions (tree: kv_len + depth), slots, q, tree mask.
    std::vector<int> depth(static_cast<size_t>(spec.num_tokens), 0);
    std::vector<int> parent;
    if (spec.tree) {
      parent = tree_parents(spec.seed, spec.num_tokens);
      seg.spec_mask_offset = static_cast<int>(st.table.spec_masks.size());
      st.table.spec_masks.resize(st.table.spec_masks.size() +
                                 static_cast<size_t>(spec.num_tokens) * spec.num_tokens);
      uint8_t* mask = st.table.spec_masks.data() + seg.spec_mask_offset;
      for (int i = 0; i < spec.num_tokens; ++i) {
        for (int a = i; a >= 0; a = parent[static_cast<size_t>(a)]) {
          mask[static_cast<size_t>(i) * spec.num_tokens + a] = 1;
          if (a != i) ++depth[static_cast<size_t>(i)];
        }
      }
    }
    for (int i = 0; i < spec.num_tokens; ++i) {
      const int logical = spec.kv_len + i;
      st.table.token_ids.push_back(0);
      st.table.positions.push_back(spec.tree ? spec.kv_len + depth[static_cast<size_t>(i)]
                                             : logical);
      st.table.slot_mapping.push_back(static_cast<int64_t>(bt[logical / bs]) * bs + logical % bs);
      for (int h = 0; h < dims.n_heads(); ++h) {
        hash_row(spec.seed ^ 0xabcdef, static_cast<uint64_t>(logical), static_cast<uint64_t>(h),
                 3.0f, row.data(), hd);
        st.q.insert(st.q.end(), row.begin(), row.end());
      }
    }
    st.table.segments.push_back(seg);
  }
  return st;
}

inline std::vector<float> reference_attention(const AttnStep& st, int window) {
  std::vector<float> out(st.q.size());
  const ref::AttentionParams params{st.dims.n_heads(),
                                    static_cast<float>(1.0 / std::sqrt(st.dims.head_dim)), window};
  ref::paged_attention(st.q.data(), st.layer, st.table, params, out.data());
  return out;
}

// Output rows [row, row + n) as raw floats, for bitwise comparison.
inline std::vector<float> rows_of(const std::vector<float>& out, const AttnDims& dims, int row,
                                  int n) {
  const size_t w = static_cast<size_t>(dims.n_heads()) * dims.head_dim;
  return std::vector<float>(out.begin() + static_cast<std::ptrdiff_t>(row * w),
                            out.begin() + static_cast<std::ptrdiff_t>((row + n) * w));
}

}  // namespace xy::cpu::testing
