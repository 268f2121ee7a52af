#include "engine/spec/ngram_index.h"

#include <algorithm>

#include "core/check.h"

namespace xy::spec {

namespace {

// Hash of the n-gram ending at position `end`, built backwards one token at a time so that all
// lengths 1..max_n come out of one pass. splitmix64-style finalizer per step.
uint64_t mix(uint64_t h, int32_t token) {
  uint64_t x = h ^ (static_cast<uint64_t>(static_cast<uint32_t>(token)) + 0x9e3779b97f4a7c15ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

NgramIndex::NgramIndex(int min_n, int max_n, int max_matches)
    : min_n_(min_n), max_n_(max_n), max_matches_(max_matches) {
  XY_CHECK(min_n >= 1 && min_n <= max_n);
  XY_CHECK(max_matches >= 1 && max_matches <= kMaxMatches);
}

uint64_t NgramIndex::key(uint64_t hash, int n) {
  return hash ^ (static_cast<uint64_t>(n) * 0xd6e8feb86659fd93ULL);
}

bool NgramIndex::same_gram(std::span<const int32_t> tokens, int end_a, int end_b, int n) const {
  for (int i = 0; i < n; ++i) {
    if (tokens[static_cast<size_t>(end_a - i)] != tokens[static_cast<size_t>(end_b - i)]) {
      return false;
    }
  }
  return true;
}

void NgramIndex::extend(std::span<const int32_t> tokens) {
  const int last = static_cast<int>(tokens.size()) - 1;  // not indexed (no continuation)
  for (int end = indexed_; end < last; ++end) {
    uint64_t h = 0;
    for (int n = 1; n <= max_n_ && end - n + 1 >= 0; ++n) {
      h = mix(h, tokens[static_cast<size_t>(end - n + 1)]);
      if (n < min_n_) continue;
      Entry& e = map_[key(h, n)];
      if (e.count > 0 && !same_gram(tokens, e.ends[static_cast<size_t>(e.count - 1)], end, n)) {
        continue;  // a hash collision with a different n-gram: keep the first owner
      }
      if (e.count == max_matches_) {
        std::rotate(e.ends.begin(), e.ends.begin() + 1, e.ends.begin() + e.count);
        --e.count;
      }
      e.ends[static_cast<size_t>(e.count++)] = end;
    }
  }
  indexed_ = std::max(indexed_, last);
}

std::vector<int> NgramIndex::continuations(std::span<const int32_t> tokens) const {
  std::vector<int> starts;
  const int last = static_cast<int>(tokens.size()) - 1;
  if (last < 0) return starts;
  // Hashes of the suffixes of every length, longest first below.
  std::vector<uint64_t> suffix(static_cast<size_t>(max_n_ + 1), 0);
  uint64_t h = 0;
  int longest = 0;
  for (int n = 1; n <= max_n_ && last - n + 1 >= 0; ++n) {
    h = mix(h, tokens[static_cast<size_t>(last - n + 1)]);
    suffix[static_cast<size_t>(n)] = h;
    longest = n;
  }
  for (int n = longest; n >= min_n_ && static_cast<int>(starts.size()) < max_matches_; --n) {
    const auto it = map_.find(key(suffix[static_cast<size_t>(n)], n));
    if (it == map_.end()) continue;
    const Entry& e = it->second;
    for (int i = e.count - 1; i >= 0 && static_cast<int>(starts.size()) < max_matches_; --i) {
      const int end = e.ends[static_cast<size_t>(i)];
      if (end >= last || !same_gram(tokens, end, last, n)) continue;
      if (std::find(starts.begin(), starts.end(), end + 1) == starts.end()) {
        starts.push_back(end + 1);
      }
    }
  }
  return starts;
}

}  // namespace xy::spec
