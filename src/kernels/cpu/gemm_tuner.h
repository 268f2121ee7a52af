// Offline profiling of SmoothGEMM configs: the engine of `xyserve tune` (the CLI wiring lives
// in src/cli). For each weight shape and each M it times every candidate (micro-kernel x
// task order) on random data with the given pool and keeps the fastest, as a GemmTuneTable.
#pragma once

#include <vector>

#include "core/status.h"
#include "core/worker_pool.h"
#include "kernels/cpu/gemm_tune_table.h"
#include "kernels/cpu/smooth_gemm.h"

namespace xy::cpu {

struct GemmTuneOptions {
  std::vector<int> ms = {1, 2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 1024};  // buckets' m_max
  int repeats = 5;  // timed runs per candidate after one warm-up; the median counts
  GemmIsa isa = default_gemm_isa();
};

// The candidates tune_smooth_gemm() times for one (shape, m): kernels whose height fits m
// (tall kernels only for tall m), each with a few m_block values (and on kAvx512Bf16 k-blocks
// of 512, 1024 and 2048 below K), plus the default config; all of them kernels of `isa`.
std::vector<GemmTileConfig> gemm_tune_candidates(int m, int k, int num_panels, int num_workers,
                                                 GemmIsa isa = GemmIsa::kAvx2);

// The SmoothGEMM weight shapes of one Llama-family decoder layer plus lm_head, in this order:
// qkv (fused, N = (n_heads + 2 n_kv_heads) head_dim), o, gate_up (fused, 2 intermediate), down,
// lm_head. kernels/ cannot see model/, so the caller passes the config's numbers.
std::vector<GemmShapeKey> llama_gemm_shapes(int hidden, int intermediate, int n_heads,
                                            int n_kv_heads, int head_dim, int vocab, DType storage);

// Profiles every shape x M. Takes seconds per large shape (it runs the real GEMMs).
// Errors: kInvalidArgument for an empty shape list, non-positive sizes or M, or an ISA this
// CPU lacks; packing errors (kResourceExhausted) as PackedWeight::pack reports them.
Result<GemmTuneTable> tune_smooth_gemm(const std::vector<GemmShapeKey>& shapes,
                                       const GemmTuneOptions& options, WorkerPool& pool);

}  // namespace xy::cpu
