// Prompt-lookup index of one sequence (vLLM's "ngram" speculation, model-free): for every n-gram
// (min_n <= n <= max_n) of the tokens seen so far, the most recent positions where it ended.
// Matching the sequence's last n tokens against it finds earlier occurrences of the current
// suffix, whose continuations become drafts.
//
// Incremental: extend() indexes only the tokens appended since the previous call, O(max_n) per
// token; a lookup is O(max_n * max_matches). Memory: O(num_tokens * (max_n - min_n + 1)).
// Thread: not thread-safe (one index per sequence, engine thread).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace xy::spec {

class NgramIndex {
 public:
  static constexpr int kMaxMatches = 4;  // occurrences remembered per n-gram

  // 1 <= min_n <= max_n; 1 <= max_matches <= kMaxMatches (checked).
  NgramIndex(int min_n, int max_n, int max_matches);

  // Brings the index up to date with `tokens`, which must extend the tokens of the previous call
  // (a sequence only grows). The last token's n-grams are not indexed yet: they have no
  // continuation, and lookups must not match the suffix against itself.
  void extend(std::span<const int32_t> tokens);
  int num_indexed() const { return indexed_; }

  // Start indices (into tokens) of continuations of the longest suffix n-gram (n from max_n down
  // to min_n) that occurred before; also shorter n-grams' matches when the longer ones give
  // fewer than max_matches distinct starts. Most recent first, at most max_matches. `tokens` is
  // the sequence of the last extend().
  std::vector<int> continuations(std::span<const int32_t> tokens) const;

 private:
  struct Entry {
    std::array<int32_t, kMaxMatches> ends{};  // end positions, oldest first
    int32_t count = 0;
  };
  static uint64_t key(uint64_t hash, int n);
  bool same_gram(std::span<const int32_t> tokens, int end_a, int end_b, int n) const;

  int min_n_, max_n_, max_matches_;
  int indexed_ = 0;  // n-grams ending at positions < indexed_ are in the map
  std::unordered_map<uint64_t, Entry> map_;
};

}  // namespace xy::spec
