#include "kernels/cpu/packed_weight.h"

#include <new>
#include <string>
#include <vector>

namespace xy::cpu {

std::string_view weight_layout_name(WeightLayout layout) {
  return layout == WeightLayout::kGateUp ? "gate_up" : "plain";
}

namespace {

// Source row feeding logical lane `lane` of panel `panel`, or -1 for a padding lane.
int source_row(WeightLayout layout, int n_rows, int panel, int lane) {
  if (layout == WeightLayout::kPlain) {
    const int row = panel * kPanelLanes + lane;
    return row < n_rows ? row : -1;
  }
  const int inter = n_rows / 2;
  const int col = panel * 8 + (lane % 8);
  if (col >= inter) return -1;
  return lane < 8 ? col : inter + col;
}

}  // namespace

Result<PackedWeight> PackedWeight::pack(const void* w, DType src_dtype, int n_rows, int k,
                                        DType storage, WeightLayout layout, std::string_view name) {
  const std::string label(name);
  if (n_rows <= 0 || k <= 0) {
    return invalid_argument(label + ": cannot pack a [" + std::to_string(n_rows) + ", " +
                            std::to_string(k) + "] weight (sizes must be positive)");
  }
  if (w == nullptr) return invalid_argument(label + ": weight data is null");
  if (storage != DType::kF32 && storage != DType::kBF16) {
    return invalid_argument(label + ": packed storage must be f32 or bf16, not " +
                            std::string(dtype_name(storage)));
  }
  if (layout == WeightLayout::kGateUp && n_rows % 2 != 0) {
    return invalid_argument(label + ": a fused gate/up weight needs an even row count, got " +
                            std::to_string(n_rows));
  }

  PackedWeight p;
  p.n_rows_ = n_rows;
  p.k_ = k;
  p.storage_ = storage;
  p.layout_ = layout;
  const int cols_per_panel = layout == WeightLayout::kGateUp ? 8 : kPanelLanes;
  p.num_panels_ = (p.out_cols() + cols_per_panel - 1) / cols_per_panel;
  p.num_panels_padded_ = (p.num_panels_ + kPanelGroup - 1) / kPanelGroup * kPanelGroup;
  const size_t total_elems = static_cast<size_t>(p.num_panels_padded_) * p.panel_elems();
  try {
    p.buffer_ = AlignedBuffer(total_elems * dtype_size(storage));  // zeroed: padding lanes stay 0
  } catch (const std::bad_alloc&) {
    return resource_exhausted(label + ": cannot allocate " +
                              std::to_string(total_elems * dtype_size(storage)) +
                              " bytes for the packed weight");
  }

  const size_t src_row_bytes = static_cast<size_t>(k) * dtype_size(src_dtype);
  std::vector<float> row(static_cast<size_t>(k));  // [K] one source row widened to f32
  for (int panel = 0; panel < p.num_panels_; ++panel) {
    for (int lane = 0; lane < kPanelLanes; ++lane) {
      const int src = source_row(layout, n_rows, panel, lane);
      if (src < 0) continue;
      convert_to_f32(src_dtype,
                     static_cast<const char*>(w) + static_cast<size_t>(src) * src_row_bytes,
                     row.data(), row.size());
      const size_t base = static_cast<size_t>(panel) * p.panel_elems();
      if (storage == DType::kF32) {
        float* dst = p.buffer_.as<float>() + base + lane;
        for (int kk = 0; kk < k; ++kk) dst[static_cast<size_t>(kk) * kPanelLanes] = row[kk];
      } else {
        bf16* dst = p.buffer_.as<bf16>() + base + bf16_panel_position(lane);
        for (int kk = 0; kk < k; ++kk)
          dst[static_cast<size_t>(kk) * kPanelLanes] = f32_to_bf16(row[kk]);
      }
    }
  }
  return p;
}

}  // namespace xy::cpu
