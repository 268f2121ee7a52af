// BlockPool: random allocate / add_ref / release / free against a plain model, and the
// programmer-error checks.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "engine/kv_cache/block_pool.h"

namespace xy {
namespace {

TEST(BlockPool, RandomOperationsMatchAModel) {
  for (const int num_blocks : {1, 2, 7, 64}) {
    std::mt19937_64 rng(static_cast<uint64_t>(num_blocks));
    BlockPool pool(num_blocks, 16);
    EXPECT_EQ(pool.num_free(), num_blocks);
    std::map<int32_t, int> refs;  // allocated blocks -> references
    for (int op = 0; op < 5000; ++op) {
      const int kind = static_cast<int>(rng() % 4);
      if (kind == 0) {
        const std::optional<int32_t> b = pool.allocate();
        if (static_cast<int>(refs.size()) == num_blocks) {
          EXPECT_FALSE(b.has_value());
        } else {
          ASSERT_TRUE(b.has_value());
          ASSERT_EQ(refs.count(*b), 0u) << "handed out an allocated block";
          refs[*b] = 1;
        }
      } else if (!refs.empty()) {
        auto it = refs.begin();
        std::advance(it, static_cast<long>(rng() % refs.size()));
        const int32_t b = it->first;
        if (kind == 1) {
          pool.add_ref(b);
          ++it->second;
        } else if (it->second > 0) {
          EXPECT_EQ(pool.release(b), --it->second);
        } else {
          pool.free(b);
          refs.erase(it);
        }
      }
      ASSERT_EQ(pool.num_free(), num_blocks - static_cast<int>(refs.size()));
      for (int32_t b = 0; b < num_blocks; ++b) {
        ASSERT_EQ(pool.is_free(b), refs.count(b) == 0);
        ASSERT_EQ(pool.ref_count(b), refs.count(b) ? refs[b] : 0);
      }
    }
  }
}

TEST(BlockPoolDeathTest, MisuseIsCaught) {
  BlockPool pool(4, 16);
  const int32_t b = *pool.allocate();
  EXPECT_DEATH(pool.free(b), "freeing a referenced block");
  EXPECT_EQ(pool.release(b), 0);
  EXPECT_DEATH(pool.release(b), "release of an unreferenced block");
  pool.free(b);
  EXPECT_DEATH(pool.free(b), "double free");
  EXPECT_DEATH(pool.add_ref(b), "add_ref on a free block");
  EXPECT_DEATH(pool.ref_count(4), "out of range");
}

}  // namespace
}  // namespace xy
