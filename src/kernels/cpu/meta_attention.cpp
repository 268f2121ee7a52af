#include "kernels/cpu/meta_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "core/check.h"
#include "core/cpu_features.h"
#include "kernels/cpu/meta_attention_driver.h"
#include "kernels/cpu/meta_attention_kernels.h"

namespace xy::cpu {

const char* attention_isa_name(AttentionIsa isa) {
  switch (isa) {
    case AttentionIsa::kAvx512Bf16:
      return "avx512bf16";
    case AttentionIsa::kAvx2:
      return "avx2";
    case AttentionIsa::kScalar:
      break;
  }
  return "scalar";
}

bool attention_isa_supported(AttentionIsa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case AttentionIsa::kAvx512Bf16:
      // Its other pools run the AVX2 loops.
      return f.has_avx2_fma_f16c() && f.has_avx512_bf16();
    case AttentionIsa::kAvx2:
      return f.has_avx2_fma_f16c();
    case AttentionIsa::kScalar:
      break;
  }
  return true;
}

AttentionIsa best_attention_isa() {
  return attention_isa_supported(AttentionIsa::kAvx2) ? AttentionIsa::kAvx2 : AttentionIsa::kScalar;
}

std::optional<AttentionIsa> attention_isa_from_name(std::string_view name) {
  for (AttentionIsa isa : {AttentionIsa::kScalar, AttentionIsa::kAvx2, AttentionIsa::kAvx512Bf16}) {
    if (name == attention_isa_name(isa)) return isa;
  }
  return std::nullopt;
}

std::optional<AttentionIsa> attention_isa_override() {
  static const std::optional<AttentionIsa> isa = []() -> std::optional<AttentionIsa> {
    const char* env = std::getenv("XY_ATTENTION_ISA");
    if (env == nullptr || *env == '\0') return std::nullopt;
    const std::optional<AttentionIsa> named = attention_isa_from_name(env);
    if (named && attention_isa_supported(*named)) return named;
    std::fprintf(stderr, "xyserve: XY_ATTENTION_ISA=%s is %s; ignored\n", env,
                 named ? "not supported by this CPU" : "not one of scalar, avx2, avx512bf16");
    return std::nullopt;
  }();
  return isa;
}

namespace detail {

ScratchSizes worker_scratch_sizes(const AttentionPlan& plan) {
  const int64_t q = std::max(1, plan.max_tile_queries);
  const int64_t chunk = plan.options.kv_chunk;
  const int64_t hd = plan.shape.head_dim;
  ScratchSizes sizes;
  sizes.floats = q * scores_stride(plan.options.kv_chunk)  // scores / probabilities
                 + 2 * q * (hd + 2)                        // running state + one chunk's partial
                 + 2 * chunk * hd;                         // K and V of one chunk widened to f32
  sizes.pairs = q * (hd / 2)                               // q as bf16 pairs
                + q * probability_pairs(plan.options.kv_chunk);  // probabilities likewise
  sizes.rows = 4 * chunk;  // the chunk's K and V rows, and one tree row's
  return sizes;
}

WorkerScratch carve(AttentionWorkspace& ws, int worker, const AttentionPlan& plan) {
  const int64_t q = std::max(1, plan.max_tile_queries);
  const int64_t hd = plan.shape.head_dim;
  const int64_t chunk = plan.options.kv_chunk;
  WorkerScratch s{};
  s.scores = ws.worker_scratch(worker);
  s.state = s.scores + q * scores_stride(plan.options.kv_chunk);
  s.partial = s.state + q * (hd + 2);
  s.kbuf = s.partial + q * (hd + 2);
  s.vbuf = s.kbuf + chunk * hd;
  s.q_pairs = ws.worker_pairs(worker);
  s.p_pairs = s.q_pairs + q * (hd / 2);
  s.k_rows = ws.worker_rows(worker);
  s.v_rows = s.k_rows + chunk;
  s.row_k_rows = s.v_rows + chunk;
  s.row_v_rows = s.row_k_rows + chunk;
  return s;
}

ItemGeometry::ItemGeometry(const RunContext& ctx, const AttentionWorkItem& item)
    : tile(ctx.plan->tiles[static_cast<size_t>(item.tile)]),
      seg(ctx.table->segments[static_cast<size_t>(tile.segment)]),
      hd(ctx.plan->shape.head_dim),
      group(ctx.plan->shape.group()),
      nq(tile.num_rows * group),
      chunk(ctx.plan->options.kv_chunk),
      rec(hd + 2),
      window(ctx.plan->shape.sliding_window),
      tree(seg.spec_mask_offset >= 0),
      split(tile.split >= 0),
      blocks(ctx.table->block_tables.data() + seg.block_table_offset),
      q_stride(static_cast<size_t>(ctx.plan->shape.n_heads) * hd),
      tile_hi(tile.key_end - 1),
      shared_end(tree ? seg.kv_len : tile.key_end),
      q_base(ctx.q + static_cast<size_t>(seg.start + tile.row_begin) * q_stride +
             static_cast<size_t>(tile.kv_head) * group * hd),
      partials(split ? ctx.ws->partials() +
                           ctx.plan->splits[static_cast<size_t>(tile.split)].partial_offset
                     : nullptr) {
  XY_CHECK(static_cast<int64_t>(seg.num_blocks) * ctx.kv->block_size >=
           seg.kv_len + seg.num_tokens);
}

void begin_item(const ItemGeometry& geo, const WorkerScratch& s) {
  if (geo.split) return;
  for (int v = 0; v < geo.nq; ++v) reset_state(s.state + static_cast<size_t>(v) * geo.rec, geo.hd);
}

void merge_chunk(const RunContext& ctx, const ItemGeometry& geo, const WorkerScratch& s,
                 const float* part_base) {
  if (geo.split) return;
  for (int v = 0; v < geo.nq; ++v) {
    merge_partial(*ctx.k, s.state + static_cast<size_t>(v) * geo.rec,
                  part_base + static_cast<size_t>(v) * geo.rec, geo.hd);
  }
}

void finish_item(const RunContext& ctx, const ItemGeometry& geo, const WorkerScratch& s) {
  if (geo.split) return;
  for (int v = 0; v < geo.nq; ++v) {
    const int r = v / geo.group, g = v % geo.group;
    float* o = ctx.out +
               static_cast<size_t>(geo.seg.start + geo.tile.row_begin + r) * geo.q_stride +
               static_cast<size_t>(geo.tile.kv_head * geo.group + g) * geo.hd;
    finalize(s.state + static_cast<size_t>(v) * geo.rec, o, geo.hd);
  }
}

void mask_outside_window(const TokenTable& table, const ItemGeometry& geo, int i,
                         std::span<const int32_t> path, int k0, int j_begin, int j_end,
                         float* row_scores, size_t score_stride) {
  if (geo.window <= 0) return;
  const int32_t q_pos = table.positions[static_cast<size_t>(geo.seg.start + i)];
  for (int j = j_begin; j < j_end; ++j) {
    int32_t key_pos = j;  // a cached key's position is its index
    if (j >= geo.seg.kv_len) {
      const int token =
          path.empty() ? j - geo.seg.kv_len : path[static_cast<size_t>(j - geo.seg.kv_len)];
      key_pos = table.positions[static_cast<size_t>(geo.seg.start + token)];
    }
    if (q_pos - key_pos < geo.window) continue;
    for (int g = 0; g < geo.group; ++g) {
      row_scores[g * score_stride + (j - k0)] = -std::numeric_limits<float>::infinity();
    }
  }
}

void merge_partial(const AttentionKernels& k, float* state, const float* part, int hd) {
  const float part_sum = part[hd + 1];
  if (part_sum == 0.0f) return;  // chunk with no visible key
  if (state[hd + 1] == 0.0f) {
    std::memcpy(state, part, static_cast<size_t>(hd + 2) * sizeof(float));
    return;
  }
  const float m = std::max(state[hd], part[hd]);
  const float a = std::exp(state[hd] - m);
  const float b = std::exp(part[hd] - m);
  k.scale_add(state, a, part, b, hd);
  state[hd] = m;
  state[hd + 1] = state[hd + 1] * a + part_sum * b;
}

void finalize(const float* state, float* out, int hd) {
  const float sum = state[hd + 1];
  if (sum == 0.0f) {  // no visible key (invalid mask): zeros, as the reference
    std::fill(out, out + hd, 0.0f);
    return;
  }
  const float inv = 1.0f / sum;
  for (int d = 0; d < hd; ++d) out[d] = state[d] * inv;
}

void reset_state(float* state, int hd) {
  std::fill(state, state + hd, 0.0f);
  state[hd] = -std::numeric_limits<float>::infinity();
  state[hd + 1] = 0.0f;
}

void prefetch_keys(const ref::PagedKvLayer& kv, const void* pool, const int32_t* blocks, int kvh,
                   int j0, int j1) {
  const size_t row_bytes = static_cast<size_t>(kv.head_dim) * dtype_size(kv.dtype);
  while (j0 < j1) {
    const int run_end = std::min(j1, (j0 / kv.block_size + 1) * kv.block_size);
    const int64_t slot =
        static_cast<int64_t>(blocks[j0 / kv.block_size]) * kv.block_size + j0 % kv.block_size;
    const char* p =
        static_cast<const char*>(pool) + kv.row_offset(slot, kvh) * dtype_size(kv.dtype);
    const size_t bytes = static_cast<size_t>(run_end - j0) * row_bytes;
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off, 0, 2);
    j0 = run_end;
  }
}

bool bf16_driver_applies(const ref::PagedKvLayer& kv) {
  return kv.dtype == DType::kBF16 && kv.head_dim % 32 == 0;
}

}  // namespace detail

namespace {

using detail::AttentionKernels;
using detail::begin_item;
using detail::carve;
using detail::finalize;
using detail::finish_item;
using detail::ItemGeometry;
using detail::merge_chunk;
using detail::merge_partial;
using detail::prefetch_keys;
using detail::reset_state;
using detail::RunContext;
using detail::WorkerScratch;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int round_up8(int n) {
  return (n + 7) & ~7;
}

// Rows [first_row, first_row + n_rows) of `pool` (consecutive rows of one head in one block)
// widened to f32 at dst: an exact conversion for f32/bf16/f16, scale * code for int8.
void widen_rows(const ref::PagedKvLayer& kv, const void* pool, size_t first_row, int n_rows,
                float* dst, const detail::AttentionKernels& k) {
  const size_t hd = static_cast<size_t>(kv.head_dim);
  if (kv.dtype == DType::kI8) {
    const float* scales = kv.scales_of(pool) + first_row;
    const int8_t* codes = static_cast<const int8_t*>(pool) + first_row * hd;
    for (int r = 0; r < n_rows; ++r) {
      ref::dequantize_kv_row(codes + r * hd, scales[r], kv.head_dim, dst + r * hd);
    }
    return;
  }
  k.widen(kv.dtype, static_cast<const char*>(pool) + first_row * hd * dtype_size(kv.dtype), dst,
          static_cast<size_t>(n_rows) * hd);
}

// Pointer to K or V rows [j0, j1) of head kvh (contiguous: one block run), widened into buf
// (row j at buf + (j - base) * hd) when the pool is not f32.
const float* kv_rows(const ref::PagedKvLayer& kv, const void* pool, const int32_t* blocks, int kvh,
                     int j0, int j1, float* buf, int base, const detail::AttentionKernels& k) {
  const int32_t block = blocks[j0 / kv.block_size];
  XY_CHECK(block >= 0 && block < kv.num_blocks);
  const int64_t slot = static_cast<int64_t>(block) * kv.block_size + j0 % kv.block_size;
  const size_t offset = kv.row_offset(slot, kvh);
  if (kv.dtype == DType::kF32) return static_cast<const float*>(pool) + offset;
  float* dst = buf + static_cast<size_t>(j0 - base) * kv.head_dim;
  widen_rows(kv, pool, kv.row_index(slot, kvh), j1 - j0, dst, k);
  return dst;
}

// Widens (copies, for f32) the K or V rows of head kvh of segment tokens idx[0, n) (logical
// indices kv_len + idx[e]) to dst[e * head_dim ...]: a tree row's path, made contiguous.
void gather_segment_rows(const ref::PagedKvLayer& kv, const void* pool, const int32_t* blocks,
                         int kv_len, int kvh, const int32_t* idx, int n, float* dst,
                         const detail::AttentionKernels& k) {
  for (int e = 0; e < n; ++e) {
    const int j = kv_len + idx[e];
    const int32_t block = blocks[j / kv.block_size];
    XY_CHECK(block >= 0 && block < kv.num_blocks);
    const int64_t slot = static_cast<int64_t>(block) * kv.block_size + j % kv.block_size;
    widen_rows(kv, pool, kv.row_index(slot, kvh), 1, dst + static_cast<size_t>(e) * kv.head_dim, k);
  }
}

// The f32 driver prefetches K this many keys ahead (detail::prefetch_keys).
constexpr int kPrefetchKeys = 96;

// Runs chunks [c_begin, c_end) of tile `t`. Unsplit tiles (the item covers the whole range)
// merge each chunk's partial into a running state and write out; split tiles store each
// chunk's partial in the workspace for the merge phase.
//
// Keys [0, shared_end) are read by logical index for all the tile's rows at once (chains: every
// key; trees: the cached ones). A tree row's own segment keys (its plan.tree_path) are gathered
// per row into the chunk buffers at logical indices kv_len, kv_len + 1, ..., so its scores sit in
// the lanes, chunks and accumulation order a chain of the same tokens would give them.
void run_item(const RunContext& ctx, const AttentionWorkItem& item, const WorkerScratch& s) {
  const AttentionPlan& plan = *ctx.plan;
  const TokenTable& table = *ctx.table;
  const ref::PagedKvLayer& kv = *ctx.kv;
  const detail::AttentionKernels& k = *ctx.k;
  const ItemGeometry geo(ctx, item);
  const int score_stride = detail::scores_stride(geo.chunk);
  begin_item(geo, s);
  const int item_key_end = std::min(item.chunk_end * geo.chunk, geo.shared_end);
  for (int c = item.chunk_begin; c < item.chunk_end; ++c) {
    const int k0 = c * geo.chunk;
    const int k1 = std::min(k0 + geo.chunk, geo.tile_hi + 1);
    const int n = k1 - k0;
    XY_CHECK(n > 0);
    const int n_pad = round_up8(n);

    // Scores of every query vector against keys [k0, k1), -inf where masked.
    for (int v = 0; v < geo.nq; ++v) {
      std::fill(s.scores + static_cast<size_t>(v) * score_stride + n,
                s.scores + static_cast<size_t>(v) * score_stride + n_pad, kNegInf);
    }
    const int ks = std::min(k1, geo.shared_end);  // keys [k0, ks) shared by the rows
    for (int j0 = k0; j0 < ks;) {
      const int j1 = std::min(ks, (j0 / kv.block_size + 1) * kv.block_size);
      // K kPrefetchKeys ahead (into this chunk or the next), and this run of V, read by the
      // value pass after the chunk's scores.
      prefetch_keys(kv, kv.k, geo.blocks, geo.tile.kv_head,
                    std::min(item_key_end, j0 + kPrefetchKeys),
                    std::min(item_key_end, j1 + kPrefetchKeys));
      prefetch_keys(kv, kv.v, geo.blocks, geo.tile.kv_head, j0, j1);
      const float* krows = kv_rows(kv, kv.k, geo.blocks, geo.tile.kv_head, j0, j1, s.kbuf, k0, k);
      for (int r = 0; r < geo.tile.num_rows; ++r) {
        const int i = geo.tile.row_begin + r;  // row within the segment
        const int row_hi = geo.tree ? geo.seg.kv_len - 1 : geo.seg.kv_len + i;
        const int jr = std::max(j0, std::min(j1, row_hi + 1));  // keys [j0, jr) may be visible
        for (int g = 0; g < geo.group; ++g) {
          const int v = r * geo.group + g;
          float* sv = s.scores + static_cast<size_t>(v) * score_stride + (j0 - k0);
          const float* qv =
              geo.q_base + static_cast<size_t>(r) * geo.q_stride + static_cast<size_t>(g) * geo.hd;
          k.dot_keys(qv, krows, jr - j0, geo.hd, ctx.scale, sv);
          std::fill(sv + (jr - j0), sv + (j1 - j0), kNegInf);
        }
        mask_outside_window(table, geo, i, {}, k0, j0, jr,
                            s.scores + static_cast<size_t>(r * geo.group) * score_stride,
                            static_cast<size_t>(score_stride));
      }
      j0 = j1;
    }
    // Tree rows: their path keys at logical indices [p0, p1) of the chunk, -inf after.
    const int p0 = std::max(k0, geo.seg.kv_len);
    if (geo.tree && p0 < k1) {
      for (int r = 0; r < geo.tile.num_rows; ++r) {
        const int i = geo.tile.row_begin + r;
        const std::span<const int32_t> path = plan.tree_path(geo.tile.segment, i);
        const int p1 = std::max(p0, std::min(k1, geo.seg.kv_len + static_cast<int>(path.size())));
        float* kp = s.kbuf + static_cast<size_t>(p0 - k0) * geo.hd;
        if (p1 > p0) {
          gather_segment_rows(kv, kv.k, geo.blocks, geo.seg.kv_len, geo.tile.kv_head,
                              path.data() + (p0 - geo.seg.kv_len), p1 - p0, kp, k);
        }
        for (int g = 0; g < geo.group; ++g) {
          float* sv = s.scores + static_cast<size_t>(r * geo.group + g) * score_stride;
          const float* qv =
              geo.q_base + static_cast<size_t>(r) * geo.q_stride + static_cast<size_t>(g) * geo.hd;
          if (p1 > p0) k.dot_keys(qv, kp, p1 - p0, geo.hd, ctx.scale, sv + (p0 - k0));
          std::fill(sv + (p1 - k0), sv + n, kNegInf);
        }
        mask_outside_window(table, geo, i, path, k0, p0, p1,
                            s.scores + static_cast<size_t>(r * geo.group) * score_stride,
                            static_cast<size_t>(score_stride));
      }
    }

    // Exact softmax numerator of the chunk per query vector; partial = (p·V, max, sum).
    float* part_base =
        geo.split ? geo.partials + static_cast<size_t>(c - geo.tile.chunk_begin) * geo.nq * geo.rec
                  : s.partial;
    bool any = false;
    for (int v = 0; v < geo.nq; ++v) {
      float* part = part_base + static_cast<size_t>(v) * geo.rec;
      k.softmax_numerator(s.scores + static_cast<size_t>(v) * score_stride, n_pad, &part[geo.hd],
                          &part[geo.hd + 1]);
      std::fill(part, part + geo.hd, 0.0f);
      if (part[geo.hd + 1] == 0.0f) {  // no visible key: zero weights (the scores are all -inf)
        std::fill(s.scores + static_cast<size_t>(v) * score_stride,
                  s.scores + static_cast<size_t>(v) * score_stride + n, 0.0f);
      }
      any = any || part[geo.hd + 1] != 0.0f;
    }
    if (any) {
      for (int j0 = k0; j0 < ks;) {
        const int j1 = std::min(ks, (j0 / kv.block_size + 1) * kv.block_size);
        const float* vrows = kv_rows(kv, kv.v, geo.blocks, geo.tile.kv_head, j0, j1, s.vbuf, k0, k);
        k.accumulate_values(part_base, static_cast<size_t>(geo.rec), s.scores + (j0 - k0),
                            static_cast<size_t>(score_stride), geo.nq, vrows, j1 - j0, geo.hd);
        j0 = j1;
      }
    }
    // Tree rows: their path values after the shared keys, in the same key order (per element
    // one accumulation chain over the keys, so splitting it across calls changes no bits).
    if (any && geo.tree && p0 < k1) {
      for (int r = 0; r < geo.tile.num_rows; ++r) {
        const std::span<const int32_t> path =
            plan.tree_path(geo.tile.segment, geo.tile.row_begin + r);
        const int p1 = std::min(k1, geo.seg.kv_len + static_cast<int>(path.size()));
        if (p1 <= p0) continue;
        float* vp = s.vbuf + static_cast<size_t>(p0 - k0) * geo.hd;
        gather_segment_rows(kv, kv.v, geo.blocks, geo.seg.kv_len, geo.tile.kv_head,
                            path.data() + (p0 - geo.seg.kv_len), p1 - p0, vp, k);
        k.accumulate_values(
            part_base + static_cast<size_t>(r * geo.group) * geo.rec, static_cast<size_t>(geo.rec),
            s.scores + static_cast<size_t>(r * geo.group) * score_stride + (p0 - k0),
            static_cast<size_t>(score_stride), geo.group, vp, p1 - p0, geo.hd);
      }
    }
    merge_chunk(ctx, geo, s, part_base);
  }
  finish_item(ctx, geo, s);
}

// Merge phase of a split tile: partials in chunk order, exactly as run_item's unsplit path.
void merge_split(const RunContext& ctx, const AttentionSplit& split, const WorkerScratch& s) {
  const AttentionPlan& plan = *ctx.plan;
  const AttentionTile& tile = plan.tiles[static_cast<size_t>(split.tile)];
  const Segment& seg = ctx.table->segments[static_cast<size_t>(tile.segment)];
  const int hd = plan.shape.head_dim;
  const int group = plan.shape.group();
  const int nq = tile.num_rows * group;
  const int rec = hd + 2;
  const size_t q_stride = static_cast<size_t>(plan.shape.n_heads) * hd;
  const float* partials = ctx.ws->partials() + split.partial_offset;
  for (int v = 0; v < nq; ++v) {
    float* state = s.state;
    reset_state(state, hd);
    for (int c = tile.chunk_begin; c < tile.chunk_end; ++c) {
      merge_partial(*ctx.k, state,
                    partials + (static_cast<size_t>(c - tile.chunk_begin) * nq + v) * rec, hd);
    }
    const int r = v / group, g = v % group;
    float* o = ctx.out + static_cast<size_t>(seg.start + tile.row_begin + r) * q_stride +
               static_cast<size_t>(tile.kv_head * group + g) * hd;
    finalize(state, o, hd);
  }
}

}  // namespace

namespace {

// Grows `buffer` to `per_worker` elements for each of `num_workers` (per_worker_now only grows).
template <class T>
void grow(std::vector<T>& buffer, int64_t& per_worker_now, int64_t per_worker, int num_workers) {
  if (per_worker > per_worker_now ||
      static_cast<int64_t>(buffer.size()) < per_worker_now * num_workers) {
    per_worker_now = std::max(per_worker_now, per_worker);
    buffer.resize(static_cast<size_t>(per_worker_now * num_workers));
  }
}

}  // namespace

void AttentionWorkspace::reserve(const AttentionPlan& plan, int num_workers) {
  const detail::ScratchSizes sizes = detail::worker_scratch_sizes(plan);
  grow(worker_, worker_floats_, sizes.floats, num_workers);
  grow(pairs_, worker_pairs_, sizes.pairs, num_workers);
  grow(rows_, worker_rows_, sizes.rows, num_workers);
  if (static_cast<int64_t>(partials_.size()) < plan.partial_floats) {
    partials_.resize(static_cast<size_t>(plan.partial_floats));
  }
}

void run_attention(const AttentionPlan& plan, const TokenTable& table, const float* q,
                   const ref::PagedKvLayer& kv, float* out, WorkerPool& pool,
                   AttentionWorkspace& workspace) {
  run_attention_with(plan, table, q, kv, out, pool, workspace, best_attention_isa());
}

void run_attention_with(const AttentionPlan& plan, const TokenTable& table, const float* q,
                        const ref::PagedKvLayer& kv, float* out, WorkerPool& pool,
                        AttentionWorkspace& workspace, AttentionIsa isa) {
  XY_CHECK_MSG(attention_isa_supported(isa), "run_attention: ISA not supported by this CPU");
  XY_CHECK_MSG(kv.n_kv_heads == plan.shape.n_kv_heads && kv.head_dim == plan.shape.head_dim &&
                   kv.block_size == plan.shape.block_size,
               "run_attention: KV layer shape differs from the plan's");
  XY_CHECK(q != nullptr && out != nullptr && q != out);
  if (plan.items.empty()) return;
  workspace.reserve(plan, plan.num_workers);
  const RunContext ctx{&plan,
                       &table,
                       q,
                       &kv,
                       out,
                       &workspace,
                       isa == AttentionIsa::kScalar ? &detail::scalar_attention_kernels()
                                                    : &detail::avx2_attention_kernels(),
                       isa == AttentionIsa::kAvx512Bf16 && detail::bf16_driver_applies(kv)
                           ? &detail::avx512_bf16_attention_kernels()
                           : nullptr,
                       plan.shape.effective_scale()};
  // Rows are the plan's workers (its scratch index), whatever the pool's size.
  pool.run(plan.num_workers, [&](int w) {
    const WorkerScratch s = carve(workspace, w, plan);
    for (int at = plan.worker_begin[static_cast<size_t>(w)];
         at < plan.worker_begin[static_cast<size_t>(w) + 1]; ++at) {
      const AttentionWorkItem& item =
          plan.items[static_cast<size_t>(plan.worker_items[static_cast<size_t>(at)])];
      if (ctx.dot != nullptr) {
        detail::run_item_bf16(ctx, item, s);
      } else {
        run_item(ctx, item, s);
      }
    }
  });
  if (!plan.has_splits()) return;
  const int merge_rows = std::min(plan.num_workers, static_cast<int>(plan.splits.size()));
  pool.run(merge_rows, [&](int w) {
    const WorkerScratch s = carve(workspace, w, plan);
    for (size_t i = static_cast<size_t>(w); i < plan.splits.size();
         i += static_cast<size_t>(merge_rows)) {
      merge_split(ctx, plan.splits[i], s);
    }
  });
}

}  // namespace xy::cpu
