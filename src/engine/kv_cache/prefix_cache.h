// Token-granular prefix cache: a radix tree over the token ids of cached KV blocks. Each node is
// one full, immutable block; the path from the root to a node spells the tokens of a sequence
// prefix, block by block. Lookup returns the longest run of whole blocks that match, and when
// the match goes on inside the next cached block for t < block_size tokens, that block and t,
// so the caller can copy the t valid slots instead of recomputing them (copy-on-write).
//
// Reference counts live in the BlockPool. A cached block with zero references stays here until
// evicted; eviction takes the least recently used unreferenced *leaf*, so a prefix is never
// evicted before its continuations (they would become unreachable). The BlockManager must call
// refresh(block) after every reference-count change of a cached block.
//
// Thread: not thread-safe; the engine thread owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/kv_cache/block_pool.h"

namespace xy {

struct PrefixMatch {
  std::vector<int32_t> full_blocks;  // cached blocks covering tokens [0, full_blocks * block_size)
  int32_t partial_block = -1;        // cached block whose first partial_tokens tokens match next
  int partial_tokens = 0;            // in [1, block_size) when partial_block >= 0, else 0
  int num_tokens(int block_size) const {
    return static_cast<int>(full_blocks.size()) * block_size + partial_tokens;
  }
};

class PrefixCache {
 public:
  explicit PrefixCache(const BlockPool& pool);

  // Longest cached prefix of `tokens`. Pure lookup: no reference or LRU change.
  PrefixMatch match(std::span<const int32_t> tokens) const;

  // Records `block` (full, holding `block_tokens`) as the child of `parent` (a cached block, or
  // -1 for the root). When the tree already holds a block for exactly that path, nothing changes
  // and that block is returned; otherwise `block` is returned. `block` must not be cached yet.
  int32_t insert(int32_t parent, std::span<const int32_t> block_tokens, int32_t block);

  // Marks blocks as used now (LRU), in the given order with one clock value.
  void touch(std::span<const int32_t> blocks);
  void touch(int32_t block);
  // Re-reads the pool's reference count of a cached block (evictability).
  void refresh(int32_t block);

  // Removes the least recently used unreferenced leaf and returns its block (now unreferenced
  // and uncached: the caller frees it), or nullopt when nothing is evictable.
  std::optional<int32_t> evict_lru();

  bool contains(int32_t block) const { return nodes_[block].cached; }
  int num_cached() const { return num_cached_; }
  // Cached blocks without references: all of them are reclaimable, leaves first.
  int num_unreferenced() const { return num_unreferenced_; }
  // The token ids a cached block holds, and its parent (-1: root).
  std::span<const int32_t> block_tokens(int32_t block) const { return nodes_[block].tokens; }
  int32_t parent_of(int32_t block) const { return nodes_[block].parent; }
  int num_children(int32_t block) const { return nodes_[block].num_children; }

 private:
  using ChildIndex = std::unordered_map<int32_t, std::vector<int32_t>>;  // first token -> blocks
  struct Node {
    bool cached = false;
    bool unreferenced = false;  // counted in num_unreferenced_
    bool in_evictable = false;  // present in evictable_ under key (last_access, block)
    int32_t parent = -1;
    int num_children = 0;
    uint64_t last_access = 0;
    uint64_t last_access_in_set = 0;  // key under which it sits in evictable_
    std::vector<int32_t> tokens;      // [block_size]
    ChildIndex children;
  };

  const ChildIndex& children_of(int32_t parent) const;
  ChildIndex& children_of(int32_t parent);
  void update_evictable(int32_t block);

  const BlockPool& pool_;
  int block_size_;
  std::vector<Node> nodes_;  // [num_blocks], indexed by block id
  ChildIndex root_children_;
  std::set<std::pair<uint64_t, int32_t>> evictable_;  // (last_access, block) of evictable leaves
  uint64_t clock_ = 0;
  int num_cached_ = 0;
  int num_unreferenced_ = 0;
};

}  // namespace xy
