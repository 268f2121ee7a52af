// BlockManager::validate: an independent recount of the pool's bookkeeping from the sequences
// that hold blocks. Slow (linear in blocks and tokens); for tests and debug checks.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/kv_cache/block_manager.h"

namespace xy {
namespace {
std::string block_name(int32_t block) {
  return "block " + std::to_string(block);
}
}  // namespace

Status BlockManager::validate(std::span<const Sequence* const> holders) const {
  const int nb = num_blocks();
  const int bs = block_size();
  std::vector<int> expected_refs(static_cast<size_t>(nb), 0);
  for (const int32_t block : pinned_) ++expected_refs[block];

  for (const Sequence* seq : holders) {
    const std::string who = "sequence " + std::to_string(seq->id());
    const SequenceKv& kv = seq->kv();
    for (size_t i = 0; i < kv.block_table.size(); ++i) {
      const int32_t block = kv.block_table[i];
      if (block < 0 || block >= nb) return internal_error(who + ": bad block id");
      ++expected_refs[block];
      const bool is_cached = cache_ && cache_->contains(block);
      if (static_cast<int>(i) < kv.num_cached_blocks) {
        if (!is_cached) return internal_error(who + ": " + block_name(block) + " not cached");
        if (static_cast<int>(i + 1) * bs > seq->num_computed_tokens()) {
          return internal_error(who + ": cached " + block_name(block) + " not fully computed");
        }
        const std::span<const int32_t> want = seq->tokens().subspan(i * bs, bs);
        const std::span<const int32_t> have = cache_->block_tokens(block);
        if (!std::equal(want.begin(), want.end(), have.begin(), have.end())) {
          return internal_error(who + ": cached " + block_name(block) + " holds other tokens");
        }
        const int32_t parent = i == 0 ? -1 : kv.block_table[i - 1];
        if (cache_->parent_of(block) != parent) {
          return internal_error(who + ": " + block_name(block) + " has the wrong tree parent");
        }
      } else {
        // Writable blocks: owned alone, never visible to the prefix cache.
        if (is_cached) return internal_error(who + ": writable " + block_name(block) + " cached");
        if (pool_.ref_count(block) != 1) {
          return internal_error(who + ": writable " + block_name(block) + " is shared");
        }
      }
    }
    if (!kv.block_table.empty() &&
        static_cast<int>(kv.block_table.size()) * bs < seq->num_computed_tokens()) {
      return internal_error(who + ": block table shorter than its computed tokens");
    }
  }

  int unreferenced_cached = 0;
  int free_count = 0;
  for (int32_t block = 0; block < nb; ++block) {
    const int refs = pool_.ref_count(block);
    if (refs != expected_refs[block]) {
      return internal_error(block_name(block) + ": ref count " + std::to_string(refs) +
                            ", expected " + std::to_string(expected_refs[block]));
    }
    const bool is_cached = cache_ && cache_->contains(block);
    const bool is_free = pool_.is_free(block);
    free_count += is_free;
    if (is_free && is_cached) return internal_error(block_name(block) + ": free and cached");
    if (!is_free && !is_cached && refs == 0) return internal_error(block_name(block) + " leaked");
    if (is_cached) {
      unreferenced_cached += refs == 0;
      const int32_t parent = cache_->parent_of(block);
      // Tables and pins always hold a block's whole prefix, so unreferenced cached blocks never
      // have referenced descendants: all of them are reclaimable, leaves first.
      if (refs > 0 && parent >= 0 && pool_.ref_count(parent) == 0) {
        return internal_error(block_name(block) + " referenced but its parent is not");
      }
      if (parent >= 0 && !cache_->contains(parent)) {
        return internal_error(block_name(block) + ": parent not cached");
      }
    }
  }
  if (free_count != pool_.num_free()) return internal_error("free list size out of sync");
  if (cache_ && unreferenced_cached != cache_->num_unreferenced()) {
    return internal_error("unreferenced cached count " +
                          std::to_string(cache_->num_unreferenced()) + ", recount " +
                          std::to_string(unreferenced_cached));
  }
  return Status::ok();
}

}  // namespace xy
