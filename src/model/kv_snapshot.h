// The K/V of a sequence's first positions, copied out of one engine's paged cache so that
// another engine can continue the sequence without computing them (prefill/decode
// disaggregation). Independent of block size and block ids: per layer, the K rows, then the V
// rows, each [n_kv_heads][num_tokens][head_dim] in the cache's dtype, then for int8 caches the K
// and V row scales, each [n_kv_heads][num_tokens] f32. Values are copied bit for bit, so the
// receiving engine computes exactly what the sender would have.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "model/kv_cache.h"

namespace xy {

struct KvSnapshotLayout {
  int num_layers = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  DType dtype = DType::kBF16;

  bool operator==(const KvSnapshotLayout&) const = default;
  std::string describe() const;  // "16 layers x 8 KV heads x 64, bf16"
  // Bytes of one layer's part for num_tokens tokens.
  size_t layer_bytes(int num_tokens) const;
};

KvSnapshotLayout kv_snapshot_layout(const KvCacheShape& shape);

struct KvSnapshot {
  KvSnapshotLayout layout;
  std::vector<int32_t> tokens;               // the ids whose K/V this is (checked by the importer)
  std::vector<std::vector<uint8_t>> layers;  // [num_layers], each layout.layer_bytes(num_tokens)

  int num_tokens() const { return static_cast<int>(tokens.size()); }
  size_t bytes() const;
  // Shape checks: layer count and sizes agree with the layout and token count.
  Status validate() const;
};

// Copies positions [0, tokens.size()) of the sequence whose block table is `block_table`.
KvSnapshot gather_kv_snapshot(KvCache& cache, std::span<const int32_t> block_table,
                              std::vector<int32_t> tokens);

// Writes positions [begin, end) of the snapshot into the sequence's slots (its block table must
// cover them). kInvalidArgument when the layouts differ or the range is outside the snapshot.
Status scatter_kv_snapshot(const KvSnapshot& snapshot, KvCache& cache,
                           std::span<const int32_t> block_table, int begin, int end);

}  // namespace xy
