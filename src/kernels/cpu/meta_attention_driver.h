// The pieces both meta-attention item drivers share: the f32-kernel driver (meta_attention.cpp,
// every pool dtype, K/V widened to f32) and the vdpbf16ps driver (meta_attention_bf16.cpp, bf16
// pools read in place). Not for use outside src/kernels/cpu.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/cpu/attention_plan.h"
#include "kernels/cpu/meta_attention.h"
#include "kernels/cpu/meta_attention_kernels.h"
#include "kernels/reference/paged_kv.h"
#include "model/token_table.h"

namespace xy::cpu::detail {

// Everything one run needs, shared read-only by the workers.
struct RunContext {
  const AttentionPlan* plan;
  const TokenTable* table;
  const float* q;
  const ref::PagedKvLayer* kv;
  float* out;
  AttentionWorkspace* ws;
  const AttentionKernels* k;        // f32 kernels: the merge, and the driver on other pools
  const AttentionBf16Kernels* dot;  // vdpbf16ps kernels, or null (then every item runs on k)
  float scale;
};

// One worker's scratch. A partial / running softmax state of one query vector is a record
// [acc (head_dim) | max | sum], empty (no visible key yet) when sum == 0.
struct WorkerScratch {
  float* scores;                // [queries][scores_stride(kv_chunk)]
  float* state;                 // [queries][head_dim + 2]
  float* partial;               // [queries][head_dim + 2]
  float* kbuf;                  // [kv_chunk][head_dim]  K of one chunk widened to f32 (f32 driver)
  float* vbuf;                  // [kv_chunk][head_dim]  V likewise
  uint32_t* q_pairs;            // [queries][head_dim / 2]          q rounded to bf16 (bf16 driver)
  uint32_t* p_pairs;            // [queries][probability_pairs(kv_chunk)]   probabilities likewise
  const uint16_t** k_rows;      // [kv_chunk] K row of each key of the chunk (bf16 driver)
  const uint16_t** v_rows;      // [kv_chunk] V row likewise
  const uint16_t** row_k_rows;  // [kv_chunk] one tree row's own K rows (shared keys, then path)
  const uint16_t** row_v_rows;  // [kv_chunk] V likewise
};

// What both drivers derive from a work item: its tile and segment, the head geometry, the key
// range the tile's rows may see, and where its q rows and split partials live.
struct ItemGeometry {
  ItemGeometry(const RunContext& ctx, const AttentionWorkItem& item);

  const AttentionTile& tile;
  const Segment& seg;
  int hd;                 // head_dim
  int group;              // query heads per KV head
  int nq;                 // query vectors of the tile: rows x group
  int chunk;              // keys per KV chunk
  int rec;                // floats of a partial / state record: head_dim + 2
  int window;             // sliding window (0: none)
  bool tree;              // a tree verify segment (rows see their root paths)
  bool split;             // the tile's chunks run as separate items, merged afterwards
  const int32_t* blocks;  // the segment's block table
  size_t q_stride;        // floats per token of q and out
  int tile_hi;            // last key any row of the tile may see
  int shared_end;         // keys [0, shared_end) are read for all rows (trees: the cached ones)
  const float* q_base;    // q of the tile's first row, first query head of its KV head
  float* partials;        // the split tile's partials, or null
};

inline int scores_stride(int kv_chunk) {
  return (kv_chunk + 7) & ~7;
}
inline int probability_pairs(int kv_chunk) {
  return kv_chunk / 2 + 1;
}

// Elements of one worker's scratch in each of AttentionWorkspace's per-worker buffers.
struct ScratchSizes {
  int64_t floats = 0;  // scores .. vbuf
  int64_t pairs = 0;   // q_pairs, p_pairs
  int64_t rows = 0;    // k_rows .. row_v_rows
};
ScratchSizes worker_scratch_sizes(const AttentionPlan& plan);
// Worker `worker`'s scratch in `ws` (reserved for `plan`).
WorkerScratch carve(AttentionWorkspace& ws, int worker, const AttentionPlan& plan);

// state <- merge(state, part) by log-sum-exp; the one place partials are combined, always in
// increasing chunk order, so split and unsplit tiles produce the same bits.
void merge_partial(const AttentionKernels& k, float* state, const float* part, int hd);
// out = state's accumulator / sum, or zeros when no key was visible (as the reference).
void finalize(const float* state, float* out, int hd);
void reset_state(float* state, int hd);

// The three steps of an item both drivers share, in order: reset the running states (unsplit
// tiles), fold each chunk's partials into them in chunk order (unsplit tiles; split tiles leave
// the partials for merge_split), and write the finished rows to ctx.out (unsplit tiles).
void begin_item(const ItemGeometry& geo, const WorkerScratch& s);
void merge_chunk(const RunContext& ctx, const ItemGeometry& geo, const WorkerScratch& s,
                 const float* part_base);
void finish_item(const RunContext& ctx, const ItemGeometry& geo, const WorkerScratch& s);

// Sliding window: sets to -inf the scores of keys [j_begin, j_end) (logical indices; chunk
// starting at k0) that segment row i may not see, for each of its `group` query vectors (score
// rows of row_scores, score_stride apart). A key at or past kv_len is segment token
// j - kv_len, or path[j - kv_len] for a tree row. No-op without a window.
void mask_outside_window(const TokenTable& table, const ItemGeometry& geo, int i,
                         std::span<const int32_t> path, int k0, int j_begin, int j_end,
                         float* row_scores, size_t score_stride);

// Starts loading keys [j0, j1) of head kvh of K or V into the cache (block runs of one head are
// short and scattered, so the hardware prefetcher loses every run's start).
void prefetch_keys(const ref::PagedKvLayer& kv, const void* pool, const int32_t* blocks, int kvh,
                   int j0, int j1);

// Whether the vdpbf16ps driver serves this layer: bf16 pools and a head_dim of whole zmm
// blocks (other layers run the f32 driver on ctx.k).
bool bf16_driver_applies(const ref::PagedKvLayer& kv);

// The vdpbf16ps driver's run_item (meta_attention_bf16.cpp): the same chunks, masks, partials
// and merge order as the f32 driver, computed by ctx.dot on the bf16 rows in place.
void run_item_bf16(const RunContext& ctx, const AttentionWorkItem& item, const WorkerScratch& s);

}  // namespace xy::cpu::detail
