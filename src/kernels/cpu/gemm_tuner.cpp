#include "kernels/cpu/gemm_tuner.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

namespace xy::cpu {

namespace {

// Deterministic filler: the timings do not depend on the values, only on their being finite
// and not all zero.
void fill_random(float* v, size_t n, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = static_cast<float>(static_cast<int>(s >> 41) - (1 << 22)) * (1.0f / (1 << 23));
  }
}

double median_seconds(const PackedWeight& w, const GemmArgs& args, WorkerPool& pool, GemmIsa isa,
                      const GemmTileConfig& config, int repeats) {
  smooth_gemm_with(w, args, pool, isa, config);  // warm-up: caches, page faults, thread wake
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    smooth_gemm_with(w, args, pool, isa, config);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

}  // namespace

std::vector<GemmShapeKey> llama_gemm_shapes(int hidden, int intermediate, int n_heads,
                                            int n_kv_heads, int head_dim, int vocab,
                                            DType storage) {
  const int q = n_heads * head_dim, kv = n_kv_heads * head_dim;
  return {{q + 2 * kv, hidden, storage, WeightLayout::kPlain},
          {hidden, q, storage, WeightLayout::kPlain},
          {2 * intermediate, hidden, storage, WeightLayout::kGateUp},
          {hidden, intermediate, storage, WeightLayout::kPlain},
          {vocab, hidden, storage, WeightLayout::kPlain}};
}

std::vector<GemmTileConfig> gemm_tune_candidates(int m, int k, int num_panels, int num_workers,
                                                 GemmIsa isa) {
  std::vector<GemmTileConfig> out;
  auto add = [&out](const GemmTileConfig& c) {
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  const GemmTileConfig def = default_gemm_config(m, k, num_panels, num_workers, isa);
  add(def);
  for (const auto& shape : gemm_kernel_shapes(isa)) {
    const int mr = shape[0], np = shape[1];
    if (mr > std::max(m, 1) && mr != 6 && mr != 4) continue;  // short m: no taller kernels but 4/6
    if (m >= 8 && mr <= 2) continue;                          // tall m: too little reuse of W
    const int m_tiles = (m + mr - 1) / mr;
    for (int mb : {1, 4, 16, def.m_block, m_tiles}) {
      GemmTileConfig c{mr, np, std::clamp(mb, 1, m_tiles)};
      if (isa != GemmIsa::kAvx512Bf16) {
        add(c);
        continue;
      }
      // The vdpbf16ps path also tries k-blocks (those at or above K mean none).
      for (int kc : {0, 512, 1024, 2048}) {
        if (kc >= k) continue;
        c.kc = kc;
        add(c);
      }
    }
  }
  return out;
}

Result<GemmTuneTable> tune_smooth_gemm(const std::vector<GemmShapeKey>& shapes,
                                       const GemmTuneOptions& options, WorkerPool& pool) {
  if (shapes.empty()) return invalid_argument("gemm tune: no shapes given");
  if (options.ms.empty()) return invalid_argument("gemm tune: no M values given");
  if (options.repeats < 1) return invalid_argument("gemm tune: repeats must be >= 1");
  if (!gemm_isa_supported(options.isa)) {
    return invalid_argument(std::string("gemm tune: this CPU cannot run the ") +
                            gemm_isa_name(options.isa) + " kernels");
  }
  for (int m : options.ms) {
    if (m < 1) return invalid_argument("gemm tune: M must be positive, got " + std::to_string(m));
  }
  std::vector<int> ms = options.ms;
  std::sort(ms.begin(), ms.end());
  ms.erase(std::unique(ms.begin(), ms.end()), ms.end());

  GemmTuneTable table;
  table.isa = gemm_isa_name(options.isa);
  table.threads = pool.num_workers();
  for (size_t si = 0; si < shapes.size(); ++si) {
    const GemmShapeKey& shape = shapes[si];
    const std::string name = "tune shape " + std::to_string(si) + " [" +
                             std::to_string(shape.n_rows) + ", " + std::to_string(shape.k) + "]";
    if (shape.n_rows <= 0 || shape.k <= 0) {
      return invalid_argument(name + ": sizes must be positive");
    }
    std::vector<float> w_src(static_cast<size_t>(shape.n_rows) * shape.k);  // [N, K]
    fill_random(w_src.data(), w_src.size(), 0x5eed + si);
    XY_ASSIGN_OR_RETURN(PackedWeight w,
                        PackedWeight::pack(w_src.data(), DType::kF32, shape.n_rows, shape.k,
                                           shape.storage, shape.layout, name));
    w_src = {};
    std::vector<float> x(static_cast<size_t>(ms.back()) * shape.k);  // [max M, K]
    fill_random(x.data(), x.size(), 0xabc + si);
    std::vector<float> y(static_cast<size_t>(ms.back()) * w.out_cols());  // [max M, out_cols]
    for (int m : ms) {
      GemmArgs args;
      args.m = m;
      args.x = x.data();
      args.y = y.data();
      GemmTileConfig best;
      double best_s = 0;
      for (const GemmTileConfig& c :
           gemm_tune_candidates(m, shape.k, w.num_panels(), pool.num_workers(), options.isa)) {
        const double s = median_seconds(w, args, pool, options.isa, c, options.repeats);
        if (best_s == 0 || s < best_s) {
          best_s = s;
          best = c;
        }
      }
      table.entries.push_back({shape, m, best});
    }
  }
  return table;
}

}  // namespace xy::cpu
