#include "engine/kv_cache/block_manager.h"

#include <algorithm>

#include "core/check.h"

namespace xy {

BlockManager::BlockManager(int num_blocks, int block_size, bool enable_prefix_caching)
    : pool_(num_blocks, block_size) {
  if (enable_prefix_caching) cache_.emplace(pool_);
}

void BlockManager::begin_step() {
  for (const int32_t block : pinned_) release_block(block);
  pinned_.clear();
}

std::optional<int32_t> BlockManager::allocate_block() {
  if (pool_.num_free() == 0 && cache_) {
    if (const std::optional<int32_t> evicted = cache_->evict_lru()) pool_.free(*evicted);
  }
  return pool_.allocate();
}

void BlockManager::add_ref(int32_t block) {
  pool_.add_ref(block);
  if (cache_ && cache_->contains(block)) cache_->refresh(block);
}

void BlockManager::release_block(int32_t block) {
  const int remaining = pool_.release(block);
  if (cache_ && cache_->contains(block)) {
    cache_->refresh(block);
  } else if (remaining == 0) {
    pool_.free(block);
  }
}

int BlockManager::count_unreferenced(const PrefixMatch& match) const {
  int count = 0;
  for (const int32_t block : match.full_blocks) count += pool_.ref_count(block) == 0;
  if (match.partial_block >= 0) count += pool_.ref_count(match.partial_block) == 0;
  return count;
}

std::optional<BlockManager::Admission> BlockManager::admit(Sequence& seq, int max_new_tokens,
                                                           int reserve_blocks,
                                                           bool allow_shorter_chunk,
                                                           std::vector<KvCopyOp>& copies) {
  XY_CHECK_MSG(seq.block_table().empty(), "admit of a sequence that holds blocks");
  XY_CHECK(max_new_tokens >= 1);
  const int bs = block_size();
  const int n = seq.num_tokens();
  PrefixMatch match;
  if (cache_) match = cache_->match(seq.tokens().first(static_cast<size_t>(n - 1)));
  // Imported K/V replaces the copy of a partly matched block (it covers those slots anyway).
  const int imported_end = seq.num_imported_kv_tokens();
  if (imported_end > 0) {
    match.partial_block = -1;
    match.partial_tokens = 0;
  }

  // Second attempt: without the partial block, whose copy needs one block more than sharing.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int hit = match.num_tokens(bs);
    const int imported = std::max(0, imported_end - hit);
    const int ready = hit + imported;  // positions with K/V before the first chunk
    const int shared = static_cast<int>(match.full_blocks.size());
    // Taking references on unreferenced cached blocks removes them from the reclaimable pool.
    const int available = num_reclaimable_blocks() - count_unreferenced(match) - reserve_blocks;
    int chunk = std::min(max_new_tokens, n - ready);
    if (blocks_for_tokens(ready + chunk) - shared > available && allow_shorter_chunk) {
      chunk = std::min(chunk, (shared + available) * bs - ready);
    }
    if (chunk >= 1 && blocks_for_tokens(ready + chunk) - shared <= available) {
      SequenceKv& kv = seq.mutable_kv();
      for (const int32_t block : match.full_blocks) add_ref(block);
      kv.block_table = match.full_blocks;
      kv.num_cached_blocks = shared;
      if (cache_ && shared > 0) cache_->touch(match.full_blocks);
      if (match.partial_block >= 0) {
        // The source is pinned until the engine has copied it, together with its prefix, so
        // that a referenced cached block never hangs below an unreferenced one (which would be
        // counted reclaimable but could not be evicted) even if seq is released this step.
        for (const int32_t block : match.full_blocks) add_ref(block);
        pinned_.insert(pinned_.end(), match.full_blocks.begin(), match.full_blocks.end());
        add_ref(match.partial_block);
        pinned_.push_back(match.partial_block);
        cache_->touch(match.partial_block);
        const std::optional<int32_t> dst = allocate_block();
        XY_CHECK(dst.has_value());
        copies.push_back({match.partial_block, *dst, match.partial_tokens});
        kv.block_table.push_back(*dst);
      }
      XY_CHECK(ensure_slots(seq, ready + chunk));
      return Admission{hit, imported, chunk};
    }
    if (match.partial_block < 0) break;
    match.partial_block = -1;
    match.partial_tokens = 0;
  }
  return std::nullopt;
}

bool BlockManager::ensure_slots(Sequence& seq, int num_tokens) {
  std::vector<int32_t>& table = seq.mutable_kv().block_table;
  const int missing = blocks_for_tokens(num_tokens) - static_cast<int>(table.size());
  if (missing <= 0) return true;
  if (missing > num_reclaimable_blocks()) return false;
  for (int i = 0; i < missing; ++i) {
    const std::optional<int32_t> block = allocate_block();
    XY_CHECK_MSG(block.has_value(), "reclaimable block count out of sync");
    table.push_back(*block);
  }
  return true;
}

void BlockManager::cache_full_blocks(Sequence& seq) {
  if (!cache_) return;
  const int bs = block_size();
  SequenceKv& kv = seq.mutable_kv();
  const int num_full =
      std::min(seq.num_computed_tokens() / bs, static_cast<int>(kv.block_table.size()));
  for (int i = kv.num_cached_blocks; i < num_full; ++i) {
    const int32_t parent = i == 0 ? -1 : kv.block_table[i - 1];
    const int32_t own = kv.block_table[i];
    const std::span<const int32_t> block_tokens =
        seq.tokens().subspan(static_cast<size_t>(i) * bs, static_cast<size_t>(bs));
    const int32_t cached = cache_->insert(parent, block_tokens, own);
    if (cached != own) {
      // Another sequence computed the same block first; keep one copy in the tree.
      add_ref(cached);
      kv.block_table[i] = cached;
      release_block(own);
    }
  }
  kv.num_cached_blocks = std::max(kv.num_cached_blocks, num_full);
}

void BlockManager::release(Sequence& seq) {
  SequenceKv& kv = seq.mutable_kv();
  // Last use of its cached blocks is now: LRU order among released prefixes follows release time.
  if (cache_ && kv.num_cached_blocks > 0) {
    cache_->touch(
        std::span<const int32_t>(kv.block_table).first(static_cast<size_t>(kv.num_cached_blocks)));
  }
  // Tail first: the deepest blocks become evictable leaves before their prefixes.
  for (auto it = kv.block_table.rbegin(); it != kv.block_table.rend(); ++it) release_block(*it);
  kv.block_table.clear();
  kv.num_cached_blocks = 0;
}

}  // namespace xy
