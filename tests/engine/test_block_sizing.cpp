// KV pool sizing: bytes per block against an element-by-element recount, budgets, errors.
#include <gtest/gtest.h>

#include <random>

#include "engine/kv_cache/kv_cache_sizing.h"

namespace xy {
namespace {

ModelConfig model(int layers, int kv_heads, int head_dim) {
  ModelConfig m;
  m.num_hidden_layers = layers;
  m.num_key_value_heads = kv_heads;
  m.num_attention_heads = kv_heads * 3;
  m.head_dim = head_dim;
  return m;
}

TEST(BlockSizing, BytesPerBlockMatchARecount) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    const ModelConfig m = model(1 + rng() % 40, 1 + rng() % 9, 8 * (1 + rng() % 20));
    const int bs = 1 + rng() % 33;
    for (const DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
      int64_t elements = 0;  // walk the pools: per layer, K and V, [kv_heads][bs][head_dim]
      for (int layer = 0; layer < m.num_hidden_layers; ++layer) {
        for (int pool = 0; pool < 2; ++pool)
          elements += int64_t{m.num_key_value_heads} * bs * m.head_dim;
      }
      ASSERT_EQ(kv_block_bytes(m, bs, dt), elements * (dt == DType::kF32 ? 4 : 2));
      const int64_t budget = elements * 2 * (1 + rng() % 1000) + rng() % 1000;
      const Result<int> n = kv_num_blocks_for_budget(budget, m, bs, dt);
      ASSERT_TRUE(n.is_ok());
      EXPECT_EQ(*n, budget / kv_block_bytes(m, bs, dt));
    }
  }
}

TEST(BlockSizing, SmolLmLikeShape) {
  // 30 layers, 3 KV heads of 64, bf16, 16-token blocks: 2 * 30 * 3 * 64 * 16 * 2 = 368640 bytes.
  const ModelConfig m = model(30, 3, 64);
  EXPECT_EQ(kv_block_bytes(m, 16, DType::kBF16), 368640);
  EXPECT_EQ(*kv_num_blocks_for_budget(int64_t{1} << 30, m, 16, DType::kBF16), 2912);
}

TEST(BlockSizing, ErrorsNameTheSizes) {
  const ModelConfig m = model(2, 2, 64);
  Result<int> r = kv_num_blocks_for_budget(1000, m, 16, DType::kF32);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("1000 bytes"), std::string::npos);
  EXPECT_NE(r.status().message().find("32768 bytes"), std::string::npos) << r.status().message();
  EXPECT_EQ(kv_num_blocks_for_budget(0, m, 16, DType::kF32).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(kv_num_blocks_for_budget(1 << 20, m, 0, DType::kF32).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(kv_num_blocks_for_budget(1 << 20, model(0, 2, 64), 16, DType::kF32).status().code(),
            ErrorCode::kInvalidArgument);
  // Huge budgets cap at INT32_MAX blocks instead of overflowing.
  EXPECT_EQ(*kv_num_blocks_for_budget(int64_t{1} << 62, model(1, 1, 8), 1, DType::kF16),
            std::numeric_limits<int32_t>::max());
}

}  // namespace
}  // namespace xy
