#include "engine/sampling/top_selection.h"

#include <algorithm>

#include "core/check.h"
#include "engine/sampling/logits_math.h"

namespace xy::sampling {
namespace {

constexpr size_t kBlock = 16;

// Heap entries order "worse first": smaller value, or equal value with larger index.
struct Candidate {
  float value;
  int32_t index;
};
struct BetterThan {  // std heap with this comparator keeps the worst candidate at the front
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.value > b.value || (a.value == b.value && a.index < b.index);
  }
};

// Beyond this many, a heap costs more than one nth_element over a copy.
constexpr int kHeapLimit = 2048;

}  // namespace

void top_n_indices(std::span<const float> x, int n, std::vector<int32_t>& out) {
  XY_CHECK(n >= 0 && static_cast<size_t>(n) <= x.size());
  out.clear();
  if (n == 0) return;
  std::vector<Candidate> heap;
  heap.reserve(n);
  const size_t size = x.size();
  // Entries arrive in increasing index order, so a later entry equal to the worst kept one never
  // displaces it: "strictly greater" implements the lower-index tie-break.
  auto offer = [&](size_t i) {
    if (heap.size() < static_cast<size_t>(n)) {
      heap.push_back({x[i], static_cast<int32_t>(i)});
      std::push_heap(heap.begin(), heap.end(), BetterThan{});
    } else if (x[i] > heap.front().value) {
      std::pop_heap(heap.begin(), heap.end(), BetterThan{});
      heap.back() = {x[i], static_cast<int32_t>(i)};
      std::push_heap(heap.begin(), heap.end(), BetterThan{});
    }
  };
  size_t i = 0;
  for (; i < size && heap.size() < static_cast<size_t>(n); ++i) offer(i);
  while (true) {
    i = next_block_greater(x, i, heap.front().value);
    if (i + kBlock > size) break;
    for (size_t l = 0; l < kBlock; ++l) offer(i + l);
    i += kBlock;
  }
  for (; i < size; ++i) offer(i);
  std::sort_heap(heap.begin(), heap.end(), BetterThan{});  // best first
  for (const Candidate& c : heap) out.push_back(c.index);
}

float kth_largest(std::span<const float> x, int k, std::vector<float>& scratch) {
  XY_CHECK(k >= 1 && static_cast<size_t>(k) <= x.size());
  if (k <= kHeapLimit) {
    // Min-heap of the k largest values; its front is the k-th largest.
    scratch.assign(x.begin(), x.begin() + k);
    std::make_heap(scratch.begin(), scratch.end(), std::greater<float>{});
    const size_t size = x.size();
    size_t i = k;
    auto offer = [&](size_t j) {
      if (x[j] > scratch.front()) {
        std::pop_heap(scratch.begin(), scratch.end(), std::greater<float>{});
        scratch.back() = x[j];
        std::push_heap(scratch.begin(), scratch.end(), std::greater<float>{});
      }
    };
    while (true) {
      i = next_block_greater(x, i, scratch.front());
      if (i + kBlock > size) break;
      for (size_t l = 0; l < kBlock; ++l) offer(i + l);
      i += kBlock;
    }
    for (; i < size; ++i) offer(i);
    return scratch.front();
  }
  scratch.assign(x.begin(), x.end());
  auto nth = scratch.begin() + (k - 1);
  std::nth_element(scratch.begin(), nth, scratch.end(), std::greater<float>{});
  return *nth;
}

float top_k_with_ties(std::span<const float> x, int k, std::vector<float>& heap_scratch,
                      std::vector<int32_t>& out) {
  XY_CHECK(k >= 1 && static_cast<size_t>(k) <= x.size());
  // heap_scratch: min-heap of the k largest values so far; its front is the running threshold,
  // which only rises. `out` collects every index whose value was >= the threshold when it was
  // read, a superset of the final answer, pruned whenever it doubles.
  std::vector<float>& heap = heap_scratch;
  heap.clear();
  out.clear();
  const size_t size = x.size();
  size_t prune_at = 2 * static_cast<size_t>(k) + 64;
  auto offer = [&](size_t i) {
    const float v = x[i];
    if (heap.size() < static_cast<size_t>(k)) {
      heap.push_back(v);
      std::push_heap(heap.begin(), heap.end(), std::greater<float>{});
    } else if (v > heap.front()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<float>{});
      heap.back() = v;
      std::push_heap(heap.begin(), heap.end(), std::greater<float>{});
    } else if (v < heap.front()) {
      return;
    }
    out.push_back(static_cast<int32_t>(i));
    if (out.size() >= prune_at) {
      const float threshold = heap.front();
      std::erase_if(out, [&](int32_t j) { return x[j] < threshold; });
      prune_at = std::max(prune_at, 2 * out.size());
    }
  };
  size_t i = 0;
  for (; i < size && heap.size() < static_cast<size_t>(k); ++i) offer(i);
  while (true) {
    i = next_block_at_least(x, i, heap.front());
    if (i + kBlock > size) break;
    for (size_t l = 0; l < kBlock; ++l) offer(i + l);
    i += kBlock;
  }
  for (; i < size; ++i) offer(i);
  const float kth = heap.front();
  std::erase_if(out, [&](int32_t j) { return x[j] < kth; });
  return kth;
}

}  // namespace xy::sampling
