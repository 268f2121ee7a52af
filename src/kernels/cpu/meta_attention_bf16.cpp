// The vdpbf16ps item driver of meta-attention (AttentionIsa::kAvx512Bf16 on bf16 pools): the
// f32 driver's chunks, masks, partials and merge order (meta_attention.cpp, run_item), with the
// inner loops of meta_attention_avx512.cpp reading K and V rows in place through per-key row
// pointers instead of widened copies.
//
// A chunk's keys are one list of row pointers, k0 first. Every row of a chain tile uses that
// list (keys past its own last visible one get probability 0); a tree row uses its own list,
// the cached keys followed by its root path at logical indices kv_len, kv_len + 1, ..., so its
// keys sit at the list positions, score lanes and key pairs a chain of the same tokens gives
// them and its output is bitwise that chain's.
#include <algorithm>
#include <cstring>
#include <limits>
#include <span>

#include "core/check.h"
#include "kernels/cpu/meta_attention_driver.h"

namespace xy::cpu::detail {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Row of logical key j of head kvh in `pool` (bf16), through the segment's block table.
const uint16_t* key_row(const ref::PagedKvLayer& kv, const void* pool, const int32_t* blocks,
                        int kvh, int j) {
  const int32_t block = blocks[j / kv.block_size];
  XY_CHECK(block >= 0 && block < kv.num_blocks);
  const int64_t slot = static_cast<int64_t>(block) * kv.block_size + j % kv.block_size;
  return static_cast<const uint16_t*>(pool) + kv.row_offset(slot, kvh);
}

// Rows of logical keys [j0, j1) of head kvh of K and V into k_rows / v_rows [0, j1 - j0): one
// block-table lookup per block run (a head's rows are consecutive inside a block).
void key_rows(const ref::PagedKvLayer& kv, const int32_t* blocks, int kvh, int j0, int j1,
              const uint16_t** k_rows, const uint16_t** v_rows) {
  const size_t hd = static_cast<size_t>(kv.head_dim);
  for (int j = j0; j < j1;) {
    const int run_end = std::min(j1, (j / kv.block_size + 1) * kv.block_size);
    const uint16_t* k = key_row(kv, kv.k, blocks, kvh, j);
    const uint16_t* v = key_row(kv, kv.v, blocks, kvh, j);
    for (int e = 0; e < run_end - j; ++e) {
      k_rows[e] = k + e * hd;
      v_rows[e] = v + e * hd;
    }
    k_rows += run_end - j;
    v_rows += run_end - j;
    j = run_end;
  }
}

}  // namespace

void run_item_bf16(const RunContext& ctx, const AttentionWorkItem& item, const WorkerScratch& s) {
  const AttentionPlan& plan = *ctx.plan;
  const TokenTable& table = *ctx.table;
  const ref::PagedKvLayer& kv = *ctx.kv;
  const AttentionBf16Kernels& dk = *ctx.dot;
  const ItemGeometry geo(ctx, item);
  const size_t score_stride = static_cast<size_t>(scores_stride(geo.chunk));
  const size_t p_stride = static_cast<size_t>(probability_pairs(geo.chunk));
  const size_t q_pair_stride = static_cast<size_t>(geo.hd / 2);
  const int kvh = geo.tile.kv_head;

  // q of every query vector rounded to bf16 pairs, once for all the item's chunks.
  for (int v = 0; v < geo.nq; ++v) {
    const int r = v / geo.group, g = v % geo.group;
    dk.round_pairs(
        geo.q_base + static_cast<size_t>(r) * geo.q_stride + static_cast<size_t>(g) * geo.hd,
        geo.hd, s.q_pairs + static_cast<size_t>(v) * q_pair_stride);
  }
  begin_item(geo, s);
  const int item_key_end = std::min(item.chunk_end * geo.chunk, geo.shared_end);
  // The first chunk's shared K and V start loading together (each later chunk's while the one
  // before it computes, below).
  const int first_key = item.chunk_begin * geo.chunk;
  prefetch_keys(kv, kv.k, geo.blocks, kvh, std::min(first_key, item_key_end),
                std::min(first_key + geo.chunk, item_key_end));
  prefetch_keys(kv, kv.v, geo.blocks, kvh, std::min(first_key, item_key_end),
                std::min(first_key + geo.chunk, item_key_end));
  for (int c = item.chunk_begin; c < item.chunk_end; ++c) {
    const int k0 = c * geo.chunk;
    const int k1 = std::min(k0 + geo.chunk, geo.tile_hi + 1);
    const int n = k1 - k0;
    XY_CHECK(n > 0);
    const int ks = std::max(k0, std::min(k1, geo.shared_end));  // keys [k0, ks) shared by the rows

    // The next chunk's shared K and V are on their way while this one computes.
    prefetch_keys(kv, kv.k, geo.blocks, kvh, std::min(k1, item_key_end),
                  std::min(k1 + geo.chunk, item_key_end));
    prefetch_keys(kv, kv.v, geo.blocks, kvh, std::min(k1, item_key_end),
                  std::min(k1 + geo.chunk, item_key_end));
    key_rows(kv, geo.blocks, kvh, k0, ks, s.k_rows, s.v_rows);

    float* part_base =
        geo.split ? geo.partials + static_cast<size_t>(c - geo.tile.chunk_begin) * geo.nq * geo.rec
                  : s.partial;
    const int p0 = std::max(k0, geo.seg.kv_len);  // tree rows: first path key of the chunk
    bool any = false;
    for (int r = 0; r < geo.tile.num_rows; ++r) {
      const int i = geo.tile.row_begin + r;  // row within the segment
      const uint16_t* const* k_rows = s.k_rows;
      const uint16_t* const* v_rows = s.v_rows;
      std::span<const int32_t> path;
      int visible = 0;  // keys [k0, k0 + visible) the row may see
      if (!geo.tree) {
        visible = std::clamp(geo.seg.kv_len + i + 1 - k0, 0, n);
      } else {
        path = plan.tree_path(geo.tile.segment, i);
        const int p1 = std::max(p0, std::min(k1, geo.seg.kv_len + static_cast<int>(path.size())));
        visible = (p1 > p0 ? p1 : ks) - k0;
        if (p1 > p0) {
          // The row's own list: the shared keys, then its path.
          std::copy(s.k_rows, s.k_rows + (ks - k0), s.row_k_rows);
          std::copy(s.v_rows, s.v_rows + (ks - k0), s.row_v_rows);
          for (int j = p0; j < p1; ++j) {
            const int token = geo.seg.kv_len + path[static_cast<size_t>(j - geo.seg.kv_len)];
            s.row_k_rows[j - k0] = key_row(kv, kv.k, geo.blocks, kvh, token);
            s.row_v_rows[j - k0] = key_row(kv, kv.v, geo.blocks, kvh, token);
          }
          k_rows = s.row_k_rows;
          v_rows = s.row_v_rows;
        }
      }
      float* row_scores = s.scores + static_cast<size_t>(r * geo.group) * score_stride;
      dk.dot_keys(s.q_pairs + static_cast<size_t>(r * geo.group) * q_pair_stride, q_pair_stride,
                  geo.group, k_rows, visible, geo.hd, ctx.scale, row_scores, score_stride);
      for (int g = 0; g < geo.group; ++g) {
        float* sv = row_scores + static_cast<size_t>(g) * score_stride;
        std::fill(sv + visible, sv + n, kNegInf);
      }
      mask_outside_window(table, geo, i, path, k0, k0, k0 + visible, row_scores, score_stride);
      // Softmax numerators as bf16 pairs; partial = (p·V, max, sum).
      for (int g = 0; g < geo.group; ++g) {
        const size_t v = static_cast<size_t>(r * geo.group + g);
        float* part = part_base + v * geo.rec;
        dk.softmax_numerator(s.scores + v * score_stride, n, &part[geo.hd], &part[geo.hd + 1],
                             s.p_pairs + v * p_stride);
        std::fill(part, part + geo.hd, 0.0f);
        any = any || part[geo.hd + 1] != 0.0f;
      }
      // A tree row's values: its own list (a chain tile does all rows at once below).
      if (geo.tree && visible > 0) {
        dk.accumulate_values(part_base + static_cast<size_t>(r * geo.group) * geo.rec,
                             static_cast<size_t>(geo.rec),
                             s.p_pairs + static_cast<size_t>(r * geo.group) * p_stride, p_stride,
                             geo.group, v_rows, visible, geo.hd);
      }
    }
    if (!geo.tree && any) {
      dk.accumulate_values(part_base, static_cast<size_t>(geo.rec), s.p_pairs, p_stride, geo.nq,
                           s.v_rows, n, geo.hd);
    }
    merge_chunk(ctx, geo, s, part_base);
  }
  finish_item(ctx, geo, s);
}

}  // namespace xy::cpu::detail
