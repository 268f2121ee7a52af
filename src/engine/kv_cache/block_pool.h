// A fixed pool of KV blocks, each holding block_size tokens' K and V for every layer (the storage
// itself belongs to the backend; this is only the bookkeeping). Blocks are reference-counted:
// every block table that lists a block and every pending copy-on-write source holds one
// reference. A block whose count drops to zero is not freed here: the BlockManager decides
// whether it goes back to the free list or stays in the prefix cache.
//
// Thread: not thread-safe; the engine thread owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace xy {

class BlockPool {
 public:
  BlockPool(int num_blocks, int block_size);  // both >= 1 (checked)

  int num_blocks() const { return static_cast<int>(ref_counts_.size()); }
  int block_size() const { return block_size_; }  // tokens
  int num_free() const { return static_cast<int>(free_list_.size()); }

  // Takes a block from the free list with one reference; nullopt when the free list is empty.
  std::optional<int32_t> allocate();
  void add_ref(int32_t block);
  // Drops one reference and returns how many remain (the block is not freed at zero).
  int release(int32_t block);
  // Puts an unreferenced, allocated block back on the free list.
  void free(int32_t block);

  int ref_count(int32_t block) const;
  bool is_free(int32_t block) const;

 private:
  void check_id(int32_t block) const;

  int block_size_;
  std::vector<int32_t> ref_counts_;    // [num_blocks]
  std::vector<uint8_t> on_free_list_;  // [num_blocks] 0/1
  // Free block ids; allocation pops the back. Initially ordered so that block 0 comes out first,
  // which keeps simulations easy to read.
  std::vector<int32_t> free_list_;
};

}  // namespace xy
