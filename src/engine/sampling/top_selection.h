// Selecting the best few entries of a [vocab] row without sorting it: one streaming pass keeps a
// min-heap of the n best seen so far and skips whole blocks that cannot beat the heap's worst.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace xy::sampling {

// The n largest entries of x as indices, best first; ties broken by lower index. n <= x.size().
// x must be NaN-free. `out` is overwritten (reused to avoid allocation per step).
void top_n_indices(std::span<const float> x, int n, std::vector<int32_t>& out);

// The k-th largest value of x counting duplicates (k in [1, x.size()]): the top-k threshold.
// Every entry >= it survives top-k, so ties at the boundary are all kept (as vLLM does).
// `scratch` is reused between calls.
float kth_largest(std::span<const float> x, int k, std::vector<float>& scratch);

// The top-k survivors in one pass: every index i with x[i] >= kth_largest(x, k), ties at the
// boundary included, in increasing index order (k in [1, x.size()]). Replaces kth_largest plus
// a second gathering pass. Returns the k-th largest value. Scratch buffers are reused.
float top_k_with_ties(std::span<const float> x, int k, std::vector<float>& heap_scratch,
                      std::vector<int32_t>& out);

}  // namespace xy::sampling
