#include "model/kv_snapshot.h"

#include <cstring>

namespace xy {

std::string KvSnapshotLayout::describe() const {
  return std::to_string(num_layers) + " layers x " + std::to_string(n_kv_heads) + " KV heads x " +
         std::to_string(head_dim) + ", " + std::string(dtype_name(dtype));
}

size_t KvSnapshotLayout::layer_bytes(int num_tokens) const {
  return 2 * static_cast<size_t>(n_kv_heads) * static_cast<size_t>(num_tokens) *
         ref::kv_row_bytes(dtype, head_dim);
}

KvSnapshotLayout kv_snapshot_layout(const KvCacheShape& shape) {
  return {shape.num_layers, shape.n_kv_heads, shape.head_dim, shape.dtype};
}

size_t KvSnapshot::bytes() const {
  size_t total = tokens.size() * sizeof(int32_t);
  for (const auto& l : layers) total += l.size();
  return total;
}

Status KvSnapshot::validate() const {
  if (layout.num_layers <= 0 || layout.n_kv_heads <= 0 || layout.head_dim <= 0)
    return format_error("KV snapshot: bad layout " + layout.describe());
  if (static_cast<int>(layers.size()) != layout.num_layers)
    return format_error("KV snapshot: " + std::to_string(layers.size()) + " layers, layout says " +
                        std::to_string(layout.num_layers));
  const size_t want = layout.layer_bytes(num_tokens());
  for (size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].size() != want)
      return format_error("KV snapshot: layer " + std::to_string(l) + " has " +
                          std::to_string(layers[l].size()) + " bytes, expected " +
                          std::to_string(want));
  }
  return Status::ok();
}

namespace {

// Visits every (pool part, head, position) row of one layer in snapshot order, giving the
// snapshot offset and the cache address of the row. The row's bytes are row_bytes for K/V
// rows and sizeof(float) for int8 scales.
template <class Fn>
void for_each_row(const KvSnapshotLayout& layout, const ref::PagedKvLayer& layer,
                  std::span<const int32_t> block_table, int num_tokens, int begin, int end,
                  Fn&& fn) {
  const size_t row_bytes = static_cast<size_t>(layout.head_dim) * dtype_size(layout.dtype);
  const size_t heads = static_cast<size_t>(layout.n_kv_heads);
  const size_t n = static_cast<size_t>(num_tokens);
  size_t base = 0;
  for (void* pool : {layer.k, layer.v}) {
    for (size_t h = 0; h < heads; ++h) {
      for (int t = begin; t < end; ++t) {
        const int64_t slot = int64_t(block_table[size_t(t / layer.block_size)]) * layer.block_size +
                             t % layer.block_size;
        char* row = static_cast<char*>(pool) +
                    layer.row_offset(slot, static_cast<int>(h)) * dtype_size(layout.dtype);
        fn(base + (h * n + size_t(t)) * row_bytes, row, row_bytes);
      }
    }
    base += heads * n * row_bytes;
  }
  if (layout.dtype != DType::kI8) return;
  for (float* scales : {layer.k_scale, layer.v_scale}) {
    for (size_t h = 0; h < heads; ++h) {
      for (int t = begin; t < end; ++t) {
        const int64_t slot = int64_t(block_table[size_t(t / layer.block_size)]) * layer.block_size +
                             t % layer.block_size;
        fn(base + (h * n + size_t(t)) * sizeof(float),
           reinterpret_cast<char*>(scales + layer.row_index(slot, static_cast<int>(h))),
           sizeof(float));
      }
    }
    base += heads * n * sizeof(float);
  }
}

}  // namespace

KvSnapshot gather_kv_snapshot(KvCache& cache, std::span<const int32_t> block_table,
                              std::vector<int32_t> tokens) {
  KvSnapshot s;
  s.layout = kv_snapshot_layout(cache.shape());
  s.tokens = std::move(tokens);
  const int n = s.num_tokens();
  s.layers.resize(static_cast<size_t>(s.layout.num_layers));
  for (int l = 0; l < s.layout.num_layers; ++l) {
    std::vector<uint8_t>& out = s.layers[static_cast<size_t>(l)];
    out.resize(s.layout.layer_bytes(n));
    for_each_row(s.layout, cache.layer(l), block_table, n, 0, n,
                 [&](size_t at, const char* row, size_t bytes) {
                   std::memcpy(out.data() + at, row, bytes);
                 });
  }
  return s;
}

Status scatter_kv_snapshot(const KvSnapshot& s, KvCache& cache,
                           std::span<const int32_t> block_table, int begin, int end) {
  const KvSnapshotLayout mine = kv_snapshot_layout(cache.shape());
  if (!(s.layout == mine))
    return invalid_argument("KV snapshot of " + s.layout.describe() + " does not fit a cache of " +
                            mine.describe());
  XY_RETURN_IF_ERROR(s.validate());
  if (begin < 0 || end > s.num_tokens() || begin > end)
    return invalid_argument("KV snapshot: positions [" + std::to_string(begin) + ", " +
                            std::to_string(end) + ") outside its " +
                            std::to_string(s.num_tokens()) + " tokens");
  if (static_cast<int64_t>(block_table.size()) * cache.block_size() < end)
    return invalid_argument("KV snapshot: the block table does not cover the positions");
  for (int l = 0; l < s.layout.num_layers; ++l) {
    const std::vector<uint8_t>& in = s.layers[static_cast<size_t>(l)];
    for_each_row(
        s.layout, cache.layer(l), block_table, s.num_tokens(), begin, end,
        [&](size_t at, char* row, size_t bytes) { std::memcpy(row, in.data() + at, bytes); });
  }
  return Status::ok();
}

}  // namespace xy
