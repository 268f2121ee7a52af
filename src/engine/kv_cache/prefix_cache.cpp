#include "engine/kv_cache/prefix_cache.h"

#include <algorithm>

#include "core/check.h"

namespace xy {

PrefixCache::PrefixCache(const BlockPool& pool)
    : pool_(pool), block_size_(pool.block_size()), nodes_(static_cast<size_t>(pool.num_blocks())) {}

const PrefixCache::ChildIndex& PrefixCache::children_of(int32_t parent) const {
  return parent < 0 ? root_children_ : nodes_[parent].children;
}

PrefixCache::ChildIndex& PrefixCache::children_of(int32_t parent) {
  return parent < 0 ? root_children_ : nodes_[parent].children;
}

PrefixMatch PrefixCache::match(std::span<const int32_t> tokens) const {
  PrefixMatch result;
  int32_t parent = -1;
  size_t pos = 0;
  while (pos < tokens.size()) {
    const ChildIndex& children = children_of(parent);
    const auto it = children.find(tokens[pos]);
    if (it == children.end()) break;
    const size_t remaining = tokens.size() - pos;
    const size_t window = std::min(remaining, static_cast<size_t>(block_size_));
    const std::span<const int32_t> want = tokens.subspan(pos, window);
    int32_t best_block = -1;
    size_t best_len = 0;
    for (const int32_t child : it->second) {
      const std::vector<int32_t>& have = nodes_[child].tokens;
      const size_t len = static_cast<size_t>(
          std::mismatch(want.begin(), want.end(), have.begin()).first - want.begin());
      if (len > best_len) {
        best_len = len;
        best_block = child;
      }
    }
    if (best_len == static_cast<size_t>(block_size_)) {
      result.full_blocks.push_back(best_block);
      parent = best_block;
      pos += best_len;
      continue;
    }
    // The match ends inside best_block (or the request ends inside it): a partial hit.
    if (best_len > 0) {
      result.partial_block = best_block;
      result.partial_tokens = static_cast<int>(best_len);
    }
    break;
  }
  return result;
}

int32_t PrefixCache::insert(int32_t parent, std::span<const int32_t> block_tokens, int32_t block) {
  XY_CHECK(static_cast<int>(block_tokens.size()) == block_size_);
  XY_CHECK_MSG(parent < 0 || nodes_[parent].cached, "insert under an uncached parent");
  XY_CHECK_MSG(!nodes_[block].cached, "block already cached");
  ChildIndex& children = children_of(parent);
  std::vector<int32_t>& same_first = children[block_tokens[0]];
  for (const int32_t child : same_first) {
    if (std::equal(block_tokens.begin(), block_tokens.end(), nodes_[child].tokens.begin())) {
      return child;
    }
  }
  same_first.push_back(block);
  Node& node = nodes_[block];
  node.cached = true;
  node.parent = parent;
  node.num_children = 0;
  node.tokens.assign(block_tokens.begin(), block_tokens.end());
  node.last_access = ++clock_;
  ++num_cached_;
  if (parent >= 0) {
    ++nodes_[parent].num_children;
    update_evictable(parent);  // no longer a leaf
  }
  update_evictable(block);
  return block;
}

void PrefixCache::touch(std::span<const int32_t> blocks) {
  const uint64_t now = ++clock_;
  for (const int32_t block : blocks) {
    XY_CHECK(nodes_[block].cached);
    nodes_[block].last_access = now;
    update_evictable(block);
  }
}

void PrefixCache::touch(int32_t block) {
  touch(std::span<const int32_t>(&block, 1));
}

void PrefixCache::refresh(int32_t block) {
  XY_CHECK(nodes_[block].cached);
  update_evictable(block);
}

void PrefixCache::update_evictable(int32_t block) {
  Node& node = nodes_[block];
  if (node.in_evictable) {
    evictable_.erase({node.last_access_in_set, block});
    node.in_evictable = false;
  }
  const bool unreferenced = node.cached && pool_.ref_count(block) == 0;
  if (unreferenced != node.unreferenced) {
    num_unreferenced_ += unreferenced ? 1 : -1;
    node.unreferenced = unreferenced;
  }
  if (unreferenced && node.num_children == 0) {
    evictable_.insert({node.last_access, block});
    node.last_access_in_set = node.last_access;
    node.in_evictable = true;
  }
}

std::optional<int32_t> PrefixCache::evict_lru() {
  if (evictable_.empty()) return std::nullopt;
  const int32_t block = evictable_.begin()->second;
  Node& node = nodes_[block];
  XY_CHECK(node.cached && node.num_children == 0 && pool_.ref_count(block) == 0);
  evictable_.erase(evictable_.begin());
  node.in_evictable = false;
  ChildIndex& siblings = children_of(node.parent);
  const auto it = siblings.find(node.tokens[0]);
  XY_CHECK(it != siblings.end());
  std::erase(it->second, block);
  if (it->second.empty()) siblings.erase(it);
  const int32_t parent = node.parent;
  node = Node();
  --num_cached_;
  --num_unreferenced_;
  if (parent >= 0) {
    --nodes_[parent].num_children;
    update_evictable(parent);  // may have become an evictable leaf
  }
  return block;
}

}  // namespace xy
