// The storage pieces under the forward pass: KvCache (sizes, layout of the views, block copies),
// TokenTableBuilder (positions, slots, logit rows), and weight dtypes at load (f32, bf16 rounding,
// f16 and bf16 kept as stored).
#include <gtest/gtest.h>

#include "common/rel_l2.h"
#include "single_sequence_logits.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/kv_cache.h"
#include "model/model.h"
#include "model/token_table_builder.h"
#include "model/token_table_validation.h"
#include "test_forward_util.h"

namespace xy {
namespace {

using xy::testing_common::rel_l2;
using xy::testing_model::single_sequence_logits;

using testing::kFixtures;

TEST(KvCache, SizesAndLayout) {
  const KvCacheShape shape{3, 7, 5, 2, 12, DType::kBF16};
  auto c = KvCache::create(shape);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  KvCache& cache = c.value();
  EXPECT_EQ(cache.num_slots(), 35);
  EXPECT_EQ(cache.bytes_per_block(), size_t{5 * 2 * 12 * 2 * 2 * 3});
  EXPECT_EQ(cache.size_bytes(), cache.bytes_per_block() * 7);
  // Slot 13 = block 2, row 3; head 1 lives after head 0's 5 rows in that block.
  const ref::PagedKvLayer l = cache.layer(2);
  EXPECT_EQ(l.row_offset(13, 1), static_cast<size_t>(((2 * 2 + 1) * 5 + 3) * 12));
  EXPECT_NE(cache.layer(0).k, cache.layer(1).k);
  EXPECT_NE(l.k, l.v);
}

TEST(KvCache, RejectsBadShapes) {
  EXPECT_EQ(KvCache::create(KvCacheShape{2, 0, 16, 2, 64, DType::kF32}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(KvCache::create(KvCacheShape{2, 8, -1, 2, 64, DType::kF32}).status().code(),
            ErrorCode::kInvalidArgument);
  const auto huge = KvCache::create(KvCacheShape{1 << 20, 1 << 30, 1 << 20, 64, 128, DType::kF32});
  EXPECT_EQ(huge.status().code(), ErrorCode::kResourceExhausted);
}

TEST(KvCache, CopyBlockPrefixCopiesOnlyThosePrefixRowsOfEveryLayerAndHead) {
  auto c = KvCache::create(KvCacheShape{2, 4, 6, 3, 8, DType::kF32});
  ASSERT_TRUE(c.is_ok());
  KvCache& cache = c.value();
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  // Fill blocks 1 (source) and 3 (destination) with distinct random rows.
  std::vector<float> k(3 * 8), v(3 * 8);
  for (int l = 0; l < 2; ++l) {
    for (int64_t slot : {6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23}) {
      for (float& x : k) x = dist(rng);
      for (float& x : v) x = dist(rng);
      ref::write_kv(k.data(), v.data(), &slot, 1, cache.layer(l));
    }
  }
  auto row = [&](int l, bool key, int64_t slot, int head) {
    const ref::PagedKvLayer view = cache.layer(l);
    std::vector<float> out(8);
    ref::read_kv_row(key ? view.k : view.v, view, slot, head, out.data());
    return out;
  };
  std::vector<std::vector<float>> before_tail;
  for (int l = 0; l < 2; ++l) {
    for (int h = 0; h < 3; ++h) before_tail.push_back(row(l, true, 22, h));
  }
  ASSERT_TRUE(cache.copy_block_prefix(1, 3, 4).is_ok());
  for (int l = 0; l < 2; ++l) {
    for (int h = 0; h < 3; ++h) {
      for (int r = 0; r < 4; ++r) {
        EXPECT_EQ(row(l, true, 18 + r, h), row(l, true, 6 + r, h));
        EXPECT_EQ(row(l, false, 18 + r, h), row(l, false, 6 + r, h));
      }
      EXPECT_EQ(row(l, true, 22, h), before_tail[static_cast<size_t>(l * 3 + h)]);
    }
  }
  EXPECT_EQ(cache.copy_block_prefix(1, 1, 2).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(cache.copy_block_prefix(1, 4, 2).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(cache.copy_block_prefix(0, 2, 7).code(), ErrorCode::kInvalidArgument);
}

TEST(TokenTableBuilder, PositionsSlotsAndLogitRows) {
  TokenTableBuilder b(4);
  const std::vector<int32_t> a = {10, 11, 12}, blocks_a = {6, 2};
  const std::vector<int32_t> d = {20}, blocks_d = {1, 5, 0};
  EXPECT_EQ(b.add_segment(7, SegmentKind::kPrefill, a, 2, blocks_a, LogitRows::kAll), 0);
  EXPECT_EQ(b.add_segment(8, SegmentKind::kDecode, d, 9, blocks_d, LogitRows::kLast), 3);
  const std::vector<int32_t> tree = {30, 31, 32}, depth = {0, 1, 1};
  const std::vector<uint8_t> mask = {1, 0, 0, 1, 1, 0, 1, 0, 1};
  const std::vector<int32_t> blocks_t = {3};
  EXPECT_EQ(b.add_tree_segment(9, tree, 0, blocks_t, mask, depth, LogitRows::kNone), 4);
  const TokenTable t = b.take();
  EXPECT_EQ(t.token_ids, (std::vector<int32_t>{10, 11, 12, 20, 30, 31, 32}));
  EXPECT_EQ(t.positions, (std::vector<int32_t>{2, 3, 4, 9, 0, 1, 1}));
  // logical 2,3 -> block 6 rows 2,3; logical 4 -> block 2 row 0; logical 9 -> block 0 row 1.
  EXPECT_EQ(t.slot_mapping, (std::vector<int64_t>{26, 27, 8, 1, 12, 13, 14}));
  EXPECT_EQ(t.logit_rows, (std::vector<int32_t>{0, 1, 2, 3}));
  ASSERT_EQ(t.segments.size(), 3u);
  EXPECT_EQ(t.segments[2].spec_mask_offset, 0);
  EXPECT_EQ(t.segments[2].kind, SegmentKind::kVerify);
  EXPECT_EQ(t.segments[1].block_table_offset, 2);
  EXPECT_TRUE(validate_token_table(t, TokenTableLimits{100, 7, 4}).is_ok());
  // The same table against a smaller cache: block 6 no longer exists.
  EXPECT_FALSE(validate_token_table(t, TokenTableLimits{100, 6, 4}).is_ok());

  const std::vector<int32_t> one = {5}, blocks = {0, 1};
  const TokenTable single = make_single_sequence_table(one, 4, blocks, 4, false);
  EXPECT_EQ(single.segments[0].kind, SegmentKind::kDecode);
  EXPECT_EQ(single.slot_mapping, (std::vector<int64_t>{4}));
}

// The reference kernels keep the loaded matrices (the CPU kernels pack and release them).
LoadOptions reference_load(std::optional<DType> weight_dtype) {
  LoadOptions o;
  o.weight_dtype = weight_dtype;
  o.kernels = KernelSet::kReference;
  return o;
}

TEST(WeightDtypes, Bf16ConversionRoundsEachElementToNearestEven) {
  auto f32 = Model::load(kFixtures + "qwen2_bias", reference_load(DType::kF32));
  auto bf = Model::load(kFixtures + "qwen2_bias", reference_load(DType::kBF16));
  ASSERT_TRUE(f32.is_ok() && bf.is_ok());
  const WeightMatrix& a = f32.value()->weights().layers()[1].down_proj;
  const WeightMatrix& b = bf.value()->weights().layers()[1].down_proj;
  ASSERT_EQ(b.dtype, DType::kBF16);
  EXPECT_FALSE(b.owned.empty());
  const size_t n = static_cast<size_t>(a.rows) * a.cols;
  const auto* src = static_cast<const float*>(a.data);
  const auto* dst = static_cast<const uint16_t*>(b.data);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(dst[i], f32_to_bf16(src[i]).bits) << i;
  // Biases and norms stay f32 and exact.
  EXPECT_EQ(f32.value()->weights().layers()[0].q_bias, bf.value()->weights().layers()[0].q_bias);
  // Tied: lm_head is the embedding.
  EXPECT_EQ(bf.value()->weights().lm_head().data, bf.value()->weights().embed_tokens().data);
}

TEST(WeightDtypes, StoredF16AndBf16CheckpointsLoadAsStoredOrWidened) {
  std::ifstream in(kFixtures + "llama_gqa/tokens.json");
  const auto seq = nlohmann::json::parse(in).at("sequences").at(1).get<std::vector<int32_t>>();
  auto reference = Model::load(kFixtures + "llama_gqa");
  ASSERT_TRUE(reference.is_ok());
  const std::vector<float> expect = single_sequence_logits(*reference.value(), seq);
  for (DType stored : {DType::kF16, DType::kBF16}) {
    testing::ScratchDir dir;
    ASSERT_TRUE(testing::write_edited_fixture("llama_gqa", dir.path(), [&](auto& ts) {
      for (auto& t : ts) testing::convert_tensor(t, stored);
    }));
    auto as_stored = Model::load(dir.path(), reference_load(std::nullopt));
    auto widened = Model::load(dir.path(), reference_load(DType::kF32));
    ASSERT_TRUE(as_stored.is_ok()) << as_stored.status().to_string();
    ASSERT_TRUE(widened.is_ok()) << widened.status().to_string();
    const WeightMatrix& q = as_stored.value()->weights().layers()[0].q_proj;
    EXPECT_EQ(q.dtype, stored);
    EXPECT_TRUE(q.owned.empty()) << "as-stored weights should point into the mapping";
    const std::vector<float> a = single_sequence_logits(*as_stored.value(), seq);
    const std::vector<float> w = single_sequence_logits(*widened.value(), seq);
    // Widening is exact, and the reference linear widens the same way: identical logits.
    EXPECT_EQ(0, std::memcmp(a.data(), w.data(), a.size() * sizeof(float)));
    EXPECT_LT(rel_l2(a, expect), stored == DType::kF16 ? 2e-3 : 2e-2) << dtype_name(stored);
  }
}

}  // namespace
}  // namespace xy
