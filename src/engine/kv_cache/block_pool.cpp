#include "engine/kv_cache/block_pool.h"

#include "core/check.h"

namespace xy {

BlockPool::BlockPool(int num_blocks, int block_size)
    : block_size_(block_size),
      ref_counts_(static_cast<size_t>(num_blocks), 0),
      on_free_list_(static_cast<size_t>(num_blocks), 1) {
  XY_CHECK(num_blocks >= 1);
  XY_CHECK(block_size >= 1);
  free_list_.reserve(static_cast<size_t>(num_blocks));
  for (int32_t b = num_blocks - 1; b >= 0; --b) free_list_.push_back(b);
}

void BlockPool::check_id(int32_t block) const {
  XY_CHECK_MSG(block >= 0 && block < num_blocks(), "block id out of range");
}

std::optional<int32_t> BlockPool::allocate() {
  if (free_list_.empty()) return std::nullopt;
  const int32_t block = free_list_.back();
  free_list_.pop_back();
  on_free_list_[block] = 0;
  XY_CHECK(ref_counts_[block] == 0);
  ref_counts_[block] = 1;
  return block;
}

void BlockPool::add_ref(int32_t block) {
  check_id(block);
  XY_CHECK_MSG(!on_free_list_[block], "add_ref on a free block");
  ++ref_counts_[block];
}

int BlockPool::release(int32_t block) {
  check_id(block);
  XY_CHECK_MSG(ref_counts_[block] > 0, "release of an unreferenced block");
  return --ref_counts_[block];
}

void BlockPool::free(int32_t block) {
  check_id(block);
  XY_CHECK_MSG(ref_counts_[block] == 0, "freeing a referenced block");
  XY_CHECK_MSG(!on_free_list_[block], "double free of a block");
  on_free_list_[block] = 1;
  free_list_.push_back(block);
}

int BlockPool::ref_count(int32_t block) const {
  check_id(block);
  return ref_counts_[block];
}

bool BlockPool::is_free(int32_t block) const {
  check_id(block);
  return on_free_list_[block] != 0;
}

}  // namespace xy
