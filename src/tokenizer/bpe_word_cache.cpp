#include "tokenizer/bpe_word_cache.h"

#include <functional>

namespace xy {

BpeWordCache::Shard& BpeWordCache::shard_for(std::string_view word) const {
  return shards_[std::hash<std::string_view>{}(word) % kShards];
}

bool BpeWordCache::lookup(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() > kMaxWordBytes) return false;
  Shard& s = shard_for(word);
  std::lock_guard<std::mutex> lock(s.mu);
  const auto it = s.map.find(word);
  if (it == s.map.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void BpeWordCache::insert(std::string_view word, const int32_t* ids, size_t n) {
  if (word.size() > kMaxWordBytes) return;
  Shard& s = shard_for(word);
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.map.size() >= kMaxEntriesPerShard) s.map.clear();
  s.map.emplace(std::string(word), std::vector<int32_t>(ids, ids + n));
}

}  // namespace xy
