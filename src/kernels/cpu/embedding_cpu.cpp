#include "kernels/cpu/embedding_cpu.h"

#include <cstring>

#include "core/check.h"
#include "kernels/cpu/row_split.h"
#include "kernels/reference/widen.h"

namespace xy::cpu {

void embedding(const void* table, DType table_dtype, int vocab, int hidden, const int32_t* ids,
               int n_tokens, float* out, WorkerPool& pool) {
  XY_CHECK(vocab > 0 && hidden > 0 && n_tokens >= 0);
  if (n_tokens == 0) return;
  XY_CHECK(table != nullptr && ids != nullptr && out != nullptr);
  const size_t row_bytes = static_cast<size_t>(hidden) * dtype_size(table_dtype);
  // A row is a few KiB of streaming copy: split only larger steps.
  for_row_ranges(pool, n_tokens, 16, [&](int begin, int end) {
    for (int t = begin; t < end; ++t) {
      XY_CHECK_MSG(ids[t] >= 0 && ids[t] < vocab, "token id outside the vocabulary");
      const char* src = static_cast<const char*>(table) + static_cast<size_t>(ids[t]) * row_bytes;
      float* dst = out + static_cast<size_t>(t) * hidden;
      // widen_to_f32's loops are plain conversions the compiler vectorizes on any x86-64.
      ref::widen_to_f32(table_dtype, src, dst, static_cast<size_t>(hidden));
    }
  });
}

void embedding_blocks(const void* table, ref::BlockFormat format, int vocab, int hidden,
                      const int32_t* ids, int n_tokens, float* out, WorkerPool& pool) {
  XY_CHECK(vocab > 0 && hidden > 0 && n_tokens >= 0);
  if (n_tokens == 0) return;
  XY_CHECK(table != nullptr && ids != nullptr && out != nullptr);
  const size_t row_bytes = ref::block_format_row_bytes(format, hidden);
  for_row_ranges(pool, n_tokens, 16, [&](int begin, int end) {
    for (int t = begin; t < end; ++t) {
      XY_CHECK_MSG(ids[t] >= 0 && ids[t] < vocab, "token id outside the vocabulary");
      ref::dequantize_row(
          format, static_cast<const uint8_t*>(table) + static_cast<size_t>(ids[t]) * row_bytes,
          out + static_cast<size_t>(t) * hidden, hidden);
    }
  });
}

void embedding_from_packed(const PackedWeight& table, const int32_t* ids, int n_tokens, float* out,
                           WorkerPool& pool) {
  XY_CHECK(n_tokens >= 0);
  if (n_tokens == 0) return;
  XY_CHECK_MSG(!table.empty() && table.layout() == WeightLayout::kPlain,
               "embedding_from_packed needs a plain packed weight");
  XY_CHECK(ids != nullptr && out != nullptr);
  const int vocab = table.n_rows();
  const int hidden = table.k();
  for_row_ranges(pool, n_tokens, 16, [&](int begin, int end) {
    for (int t = begin; t < end; ++t) {
      const int id = ids[t];
      XY_CHECK_MSG(id >= 0 && id < vocab, "token id outside the vocabulary");
      const int panel = id / kPanelLanes;
      const int lane = id % kPanelLanes;
      float* dst = out + static_cast<size_t>(t) * hidden;
      const size_t base = static_cast<size_t>(panel) * table.panel_elems();
      if (table.storage() == DType::kF32) {
        const float* src = static_cast<const float*>(table.data()) + base + lane;
        for (int k = 0; k < hidden; ++k) dst[k] = src[static_cast<size_t>(k) * kPanelLanes];
      } else {
        const uint16_t* src =
            static_cast<const uint16_t*>(table.data()) + base + bf16_panel_position(lane);
        for (int k = 0; k < hidden; ++k) {
          dst[k] = bf16_to_f32(bf16{src[static_cast<size_t>(k) * kPanelLanes]});
        }
      }
    }
  });
}

}  // namespace xy::cpu
