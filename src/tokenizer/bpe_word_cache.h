// A bounded word -> ids cache shared by all threads encoding with one BPE model. Sharded so
// concurrent encodes rarely contend; a full shard is simply cleared (cheap, and real text
// re-warms it within a few sentences).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace xy {

class BpeWordCache {
 public:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxEntriesPerShard = 4096;
  static constexpr size_t kMaxWordBytes = 256;  // longer words are not cached

  // Appends the cached ids of `word` to `out` and returns true on a hit.
  bool lookup(std::string_view word, std::vector<int32_t>& out) const;
  void insert(std::string_view word, const int32_t* ids, size_t n);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
  };
  Shard& shard_for(std::string_view word) const;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace xy
