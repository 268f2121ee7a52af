// KV capacity for sequences: the block pool plus the token-granular prefix cache. It gives a
// sequence its block table on admission (sharing cached full blocks, copy-on-write for a partial
// block), grows it as tokens are scheduled, publishes filled blocks to the prefix cache, and
// takes the blocks back when the sequence is preempted, finished or aborted.
//
// Safety contract: a block listed by more than one owner, or present in the prefix cache, is
// full and is never written again; a sequence only writes slots at or after
// num_computed_tokens(), which always lie in blocks it owns alone. "Reclaimable" blocks are the
// free ones plus the cached blocks nobody references (evicted LRU, leaves first, on demand).
//
// Thread: not thread-safe; the engine thread owns it. Not copyable (the cache points into it).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/status.h"
#include "engine/kv_cache/block_pool.h"
#include "engine/kv_cache/kv_copy_op.h"
#include "engine/kv_cache/prefix_cache.h"
#include "engine/sequence.h"

namespace xy {

class BlockManager {
 public:
  BlockManager(int num_blocks, int block_size, bool enable_prefix_caching);
  BlockManager(const BlockManager&) = delete;
  BlockManager& operator=(const BlockManager&) = delete;

  int num_blocks() const { return pool_.num_blocks(); }
  int block_size() const { return pool_.block_size(); }  // tokens
  bool prefix_caching_enabled() const { return cache_.has_value(); }
  int num_free_blocks() const { return pool_.num_free(); }
  int num_cached_blocks() const { return cache_ ? cache_->num_cached() : 0; }
  int num_reclaimable_blocks() const {
    return pool_.num_free() + (cache_ ? cache_->num_unreferenced() : 0);
  }
  const BlockPool& pool() const { return pool_; }
  const PrefixCache* prefix_cache() const { return cache_ ? &*cache_ : nullptr; }
  int blocks_for_tokens(int num_tokens) const {
    return (num_tokens + block_size() - 1) / block_size();
  }

  // Step boundary: drops the references that kept the previous step's copy-on-write sources
  // alive (the engine has applied those copies by now).
  void begin_step();

  struct Admission {
    int num_hit_tokens = 0;  // tokens whose K/V come from the prefix cache (shared or copied)
    // Tokens after those whose K/V the engine writes from another engine's snapshot
    // (seq.num_imported_kv_tokens() covers [0, hit + imported)); their slots are allocated.
    int num_imported_tokens = 0;
    int num_new_tokens = 0;  // the first chunk to compute; its slots are allocated
  };
  // Gives a sequence without blocks its block table: the longest cached prefix of all its tokens
  // but the last (the last must be computed to get logits) is shared, a partial block is copied
  // into a fresh block (appended to `copies`), and slots for up to max_new_tokens more tokens
  // are allocated. Needs those blocks plus reserve_blocks to stay reclaimable; with
  // allow_shorter_chunk the chunk shrinks to what fits. nullopt (and no change) when nothing
  // fits. The caller then marks the sequence admitted with num_hit_tokens.
  std::optional<Admission> admit(Sequence& seq, int max_new_tokens, int reserve_blocks,
                                 bool allow_shorter_chunk, std::vector<KvCopyOp>& copies);

  // Grows the block table to cover num_tokens slots, evicting cached blocks as needed. false,
  // with nothing changed, when the pool cannot.
  bool ensure_slots(Sequence& seq, int num_tokens);
  // The most slots the sequence's table could cover right now (own blocks + reclaimable).
  int max_reachable_slots(const Sequence& seq) const {
    return (static_cast<int>(seq.block_table().size()) + num_reclaimable_blocks()) * block_size();
  }

  // Publishes the blocks fully covered by num_computed_tokens() to the prefix cache. When the
  // cache already holds an identical block for that path, the sequence switches to it and its
  // own copy is freed, so each cached prefix exists once. No-op without prefix caching.
  void cache_full_blocks(Sequence& seq);

  // Drops all the sequence's references; cached blocks stay cached. Its table becomes empty.
  void release(Sequence& seq);

  // Consistency of the whole pool against the sequences that hold blocks (tests, debug builds):
  // reference counts, free list vs cache vs owners, immutability of shared blocks, tree shape.
  Status validate(std::span<const Sequence* const> holders) const;

 private:
  std::optional<int32_t> allocate_block();
  void add_ref(int32_t block);
  void release_block(int32_t block);
  int count_unreferenced(const PrefixMatch& match) const;

  BlockPool pool_;
  std::optional<PrefixCache> cache_;
  // Copy-on-write sources of the current step and their prefixes, one reference each.
  std::vector<int32_t> pinned_;
};

}  // namespace xy
