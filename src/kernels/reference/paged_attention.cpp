#include "kernels/reference/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/check.h"
#include "kernels/reference/linear.h"

namespace xy::ref {

namespace {

// Whether segment row i may attend to segment token j (causal chain or tree mask).
bool segment_key_visible(const TokenTable& table, const Segment& seg, int i, int j) {
  if (seg.spec_mask_offset < 0) return j <= i;
  const size_t at = static_cast<size_t>(seg.spec_mask_offset) +
                    static_cast<size_t>(i) * seg.num_tokens + static_cast<size_t>(j);
  return table.spec_masks[at] != 0;
}

}  // namespace

void paged_attention(const float* q, const PagedKvLayer& kv, const TokenTable& table,
                     const AttentionParams& params, float* out) {
  const int hd = kv.head_dim;
  XY_CHECK(kv.n_kv_heads > 0 && params.n_heads % kv.n_kv_heads == 0);
  const int group = params.n_heads / kv.n_kv_heads;
  const size_t row_stride = static_cast<size_t>(params.n_heads) * hd;  // floats per token of q/out

  std::vector<float> keys, values;  // [n_keys, head_dim] one KV head of one sequence, in f32
  std::vector<int32_t> key_pos;     // [n_keys] position of each logical key
  std::vector<float> probs;         // [n_keys]
  std::vector<int> visible;         // [<= n_keys] logical indices this row attends to

  for (const Segment& seg : table.segments) {
    const int n_keys = seg.kv_len + seg.num_tokens;
    XY_CHECK(static_cast<int64_t>(seg.num_blocks) * kv.block_size >= n_keys);
    XY_CHECK(seg.block_table_offset >= 0 &&
             static_cast<size_t>(seg.block_table_offset) + seg.num_blocks <=
                 table.block_tables.size());
    const int32_t* blocks = table.block_tables.data() + seg.block_table_offset;
    keys.resize(static_cast<size_t>(n_keys) * hd);
    values.resize(keys.size());
    key_pos.resize(static_cast<size_t>(n_keys));
    probs.resize(static_cast<size_t>(n_keys));
    for (int j = 0; j < n_keys; ++j) {
      key_pos[static_cast<size_t>(j)] =
          j < seg.kv_len ? j : table.positions[static_cast<size_t>(seg.start + j - seg.kv_len)];
    }

    for (int kvh = 0; kvh < kv.n_kv_heads; ++kvh) {
      // Gather this sequence's K/V rows of head kvh through the block table, once per head.
      for (int j = 0; j < n_keys; ++j) {
        const int32_t block = blocks[j / kv.block_size];
        XY_CHECK(block >= 0 && block < kv.num_blocks);
        const int64_t slot = static_cast<int64_t>(block) * kv.block_size + j % kv.block_size;
        read_kv_row(kv.k, kv, slot, kvh, keys.data() + static_cast<size_t>(j) * hd);
        read_kv_row(kv.v, kv, slot, kvh, values.data() + static_cast<size_t>(j) * hd);
      }
      for (int i = 0; i < seg.num_tokens; ++i) {
        const int row = seg.start + i;
        const int32_t q_pos = table.positions[static_cast<size_t>(row)];
        visible.clear();
        for (int j = 0; j < n_keys; ++j) {
          const bool allowed = j < seg.kv_len || segment_key_visible(table, seg, i, j - seg.kv_len);
          const bool in_window = params.sliding_window <= 0 ||
                                 q_pos - key_pos[static_cast<size_t>(j)] < params.sliding_window;
          if (allowed && in_window) visible.push_back(j);
        }
        for (int g = 0; g < group; ++g) {
          const int h = kvh * group + g;
          const float* qh = q + static_cast<size_t>(row) * row_stride + static_cast<size_t>(h) * hd;
          float* oh = out + static_cast<size_t>(row) * row_stride + static_cast<size_t>(h) * hd;
          std::fill(oh, oh + hd, 0.0f);
          if (visible.empty()) continue;  // only reachable with an invalid mask; output zeros
          float max_score = -std::numeric_limits<float>::infinity();
          for (size_t v = 0; v < visible.size(); ++v) {
            const float s =
                dot_f32(qh, keys.data() + static_cast<size_t>(visible[v]) * hd, hd) * params.scale;
            probs[v] = s;
            max_score = std::max(max_score, s);
          }
          float sum = 0.0f;
          for (size_t v = 0; v < visible.size(); ++v) {
            probs[v] = std::exp(probs[v] - max_score);
            sum += probs[v];
          }
          const float inv_sum = 1.0f / sum;
          for (size_t v = 0; v < visible.size(); ++v) {
            const float p = probs[v] * inv_sum;
            const float* vr = values.data() + static_cast<size_t>(visible[v]) * hd;
            for (int d = 0; d < hd; ++d) oh[d] += p * vr[d];
          }
        }
      }
    }
  }
}

}  // namespace xy::ref
