// Prefix cache unit tests through the BlockManager: shared full blocks, partial-block
// copy-on-write, the last-token cap, duplicate blocks, LRU eviction order (leaves first),
// serving under eviction pressure, and lookups against a brute-force reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "engine/kv_cache/block_manager.h"

namespace xy {
namespace {

std::vector<int32_t> random_tokens(std::mt19937_64& rng, int n, int alphabet = 1000) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int32_t& x : t) x = std::uniform_int_distribution<int32_t>(0, alphabet - 1)(rng);
  return t;
}

std::unique_ptr<Sequence> make_seq(SeqId id, std::vector<int32_t> tokens) {
  Request r;
  r.id = id;
  r.prompt_tokens = std::move(tokens);
  r.max_output_tokens = 64;
  return std::make_unique<Sequence>(r, static_cast<uint64_t>(id));
}

// Admits with room for the whole prompt and "computes" it (prefill finished, sampled token 5).
BlockManager::Admission admit_and_compute(BlockManager& bm, Sequence& seq,
                                          std::vector<KvCopyOp>& copies) {
  const auto adm = bm.admit(seq, seq.num_tokens(), 0, false, copies);
  EXPECT_TRUE(adm.has_value());
  if (!adm) return {};
  seq.mark_admitted(0, adm->num_hit_tokens);
  const int32_t sampled = 5;
  seq.apply_step(seq.num_uncomputed_tokens(), std::span<const int32_t>(&sampled, 1));
  bm.cache_full_blocks(seq);
  return *adm;
}

void expect_valid(const BlockManager& bm, std::vector<const Sequence*> holders) {
  const Status s = bm.validate(holders);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
}

TEST(PrefixCache, FullBlocksAreSharedByReference) {
  std::mt19937_64 rng(1);
  BlockManager bm(32, 16, true);
  std::vector<KvCopyOp> copies;
  const std::vector<int32_t> a_tokens = random_tokens(rng, 40);
  auto a = make_seq(1, a_tokens);
  EXPECT_EQ(admit_and_compute(bm, *a, copies).num_hit_tokens, 0);
  EXPECT_EQ(bm.num_cached_blocks(), 2);  // 40 computed tokens: two full blocks

  std::vector<int32_t> b_tokens(a_tokens.begin(), a_tokens.begin() + 32);
  b_tokens.push_back(a_tokens[32] + 1);  // diverges at the first token of block 2
  for (int i = 0; i < 9; ++i) b_tokens.push_back(i);
  auto b = make_seq(2, b_tokens);
  const auto adm = admit_and_compute(bm, *b, copies);
  EXPECT_EQ(adm.num_hit_tokens, 32);
  EXPECT_TRUE(copies.empty());
  EXPECT_EQ(b->block_table()[0], a->block_table()[0]);
  EXPECT_EQ(b->block_table()[1], a->block_table()[1]);
  EXPECT_NE(b->block_table()[2], a->block_table()[2]);
  EXPECT_EQ(bm.pool().ref_count(a->block_table()[0]), 2);
  EXPECT_EQ(b->cached_tokens(), 32);
  expect_valid(bm, {a.get(), b.get()});
  bm.release(*a);
  bm.release(*b);
  expect_valid(bm, {});
  EXPECT_EQ(bm.num_reclaimable_blocks(), 32);
}

TEST(PrefixCache, PartialBlockMatchIsCopiedNotRecomputed) {
  std::mt19937_64 rng(2);
  BlockManager bm(32, 16, true);
  std::vector<KvCopyOp> copies;
  const std::vector<int32_t> a_tokens = random_tokens(rng, 50);
  auto a = make_seq(1, a_tokens);
  admit_and_compute(bm, *a, copies);
  ASSERT_EQ(bm.num_cached_blocks(), 3);

  // Shares 37 tokens: 2 full blocks and the first 5 tokens of A's third block.
  std::vector<int32_t> b_tokens(a_tokens.begin(), a_tokens.begin() + 37);
  b_tokens.push_back(a_tokens[37] + 1);
  b_tokens.push_back(9);
  auto b = make_seq(2, b_tokens);
  const auto adm = bm.admit(*b, 100, 0, false, copies);
  ASSERT_TRUE(adm.has_value());
  EXPECT_EQ(adm->num_hit_tokens, 37);
  EXPECT_EQ(adm->num_new_tokens, 2);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].src_block, a->block_table()[2]);
  EXPECT_EQ(copies[0].num_tokens, 5);
  EXPECT_EQ(copies[0].dst_block, b->block_table()[2]);
  EXPECT_EQ(bm.pool().ref_count(copies[0].dst_block), 1);  // B writes tokens 37.. into it alone
  b->mark_admitted(1, adm->num_hit_tokens);
  expect_valid(bm, {a.get(), b.get()});
  // The source stays allocated (pinned) until the next step begins, even if A goes away.
  bm.release(*a);
  EXPECT_GT(bm.pool().ref_count(copies[0].src_block), 0);
  bm.begin_step();
  EXPECT_EQ(bm.pool().ref_count(copies[0].src_block), 0);
  EXPECT_TRUE(bm.prefix_cache()->contains(copies[0].src_block));
  expect_valid(bm, {b.get()});
}

TEST(PrefixCache, FullHitStillComputesTheLastToken) {
  std::mt19937_64 rng(3);
  BlockManager bm(16, 16, true);
  std::vector<KvCopyOp> copies;
  const std::vector<int32_t> tokens = random_tokens(rng, 48);
  auto a = make_seq(1, tokens);
  admit_and_compute(bm, *a, copies);
  auto b = make_seq(2, tokens);  // identical prompt: 47 tokens reused, the 48th computed
  const auto adm = bm.admit(*b, 100, 0, false, copies);
  ASSERT_TRUE(adm.has_value());
  EXPECT_EQ(adm->num_hit_tokens, 47);
  EXPECT_EQ(adm->num_new_tokens, 1);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].num_tokens, 15);
}

TEST(PrefixCache, BlockSizeOneHasNoPartialBlocks) {
  std::mt19937_64 rng(4);
  BlockManager bm(64, 1, true);
  std::vector<KvCopyOp> copies;
  const std::vector<int32_t> tokens = random_tokens(rng, 20);
  auto a = make_seq(1, tokens);
  admit_and_compute(bm, *a, copies);
  std::vector<int32_t> b_tokens(tokens.begin(), tokens.begin() + 13);
  b_tokens.push_back(tokens[13] + 1);
  auto b = make_seq(2, b_tokens);
  const auto adm = bm.admit(*b, 100, 0, false, copies);
  ASSERT_TRUE(adm.has_value());
  EXPECT_EQ(adm->num_hit_tokens, 13);
  EXPECT_TRUE(copies.empty());
}

TEST(PrefixCache, ConcurrentDuplicatesCollapseIntoOneCachedCopy) {
  std::mt19937_64 rng(5);
  BlockManager bm(32, 8, true);
  std::vector<KvCopyOp> copies;
  const std::vector<int32_t> tokens = random_tokens(rng, 30);
  auto a = make_seq(1, tokens);
  auto b = make_seq(2, tokens);
  // Both admitted before either has cached anything: no hit for B.
  ASSERT_EQ(bm.admit(*a, 100, 0, false, copies)->num_hit_tokens, 0);
  ASSERT_EQ(bm.admit(*b, 100, 0, false, copies)->num_hit_tokens, 0);
  a->mark_admitted(0, 0);
  b->mark_admitted(1, 0);
  const int32_t t = 1;
  a->apply_step(30, std::span<const int32_t>(&t, 1));
  b->apply_step(30, std::span<const int32_t>(&t, 1));
  const int free_before = bm.num_free_blocks();
  bm.cache_full_blocks(*a);
  bm.cache_full_blocks(*b);  // switches to A's 3 full blocks, frees its own copies
  EXPECT_EQ(bm.num_cached_blocks(), 3);
  EXPECT_EQ(bm.num_free_blocks(), free_before + 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a->block_table()[i], b->block_table()[i]);
  EXPECT_NE(a->block_table()[3], b->block_table()[3]);  // the partial tail stays private
  expect_valid(bm, {a.get(), b.get()});
}

TEST(PrefixCache, EvictsLeastRecentlyUsedLeavesFirst) {
  std::mt19937_64 rng(6);
  BlockManager bm(7, 4, true);
  std::vector<KvCopyOp> copies;
  // Three released prefixes of 2 full blocks each (+ a private tail block that is freed).
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> tables;
  for (int i = 0; i < 3; ++i) {
    prompts.push_back(random_tokens(rng, 9));
    auto s = make_seq(i, prompts.back());
    admit_and_compute(bm, *s, copies);
    tables.push_back(std::vector<int32_t>(s->block_table().begin(), s->block_table().begin() + 2));
    bm.release(*s);
    bm.begin_step();
  }
  EXPECT_EQ(bm.num_cached_blocks(), 6);
  EXPECT_EQ(bm.num_free_blocks(), 1);
  // Use prefix 0 again (touches it): LRU order is now 1, 2, 0.
  {
    auto s = make_seq(10, prompts[0]);
    ASSERT_EQ(admit_and_compute(bm, *s, copies).num_hit_tokens, 8);
    bm.release(*s);
    bm.begin_step();
  }
  const PrefixCache& cache = *bm.prefix_cache();
  // A sequence that needs 3 blocks takes the free one, then evicts prefix 1 leaf-first.
  auto big = make_seq(20, random_tokens(rng, 12, 7));
  ASSERT_TRUE(bm.ensure_slots(*big, 8));  // 2 blocks: free one + prefix 1's leaf
  EXPECT_FALSE(cache.contains(tables[1][1]));
  EXPECT_TRUE(cache.contains(tables[1][0]));
  ASSERT_TRUE(bm.ensure_slots(*big, 12));  // then prefix 1's root block
  EXPECT_FALSE(cache.contains(tables[1][0]));
  EXPECT_TRUE(cache.contains(tables[2][0]) && cache.contains(tables[2][1]));
  EXPECT_TRUE(cache.contains(tables[0][0]) && cache.contains(tables[0][1]));
  ASSERT_TRUE(bm.ensure_slots(*big, 16));  // prefix 2 goes next, before the recently used 0
  EXPECT_FALSE(cache.contains(tables[2][1]));
  EXPECT_TRUE(cache.contains(tables[0][1]));
  EXPECT_FALSE(bm.ensure_slots(*big, 100));  // more than the pool: refused, nothing changes
  expect_valid(bm, {big.get()});
}

TEST(PrefixCache, EvictionUnderPressureKeepsServing) {
  std::mt19937_64 rng(7);
  BlockManager bm(10, 4, true);
  std::vector<KvCopyOp> copies;
  std::vector<std::vector<int32_t>> history;
  int hits = 0;
  for (int i = 0; i < 300; ++i) {
    // Half the prompts reuse an earlier one's beginning.
    std::vector<int32_t> tokens;
    if (!history.empty() && rng() % 2) {
      const auto& old = history[rng() % history.size()];
      tokens.assign(old.begin(), old.begin() + 1 + static_cast<long>(rng() % old.size()));
    }
    const std::vector<int32_t> tail = random_tokens(rng, 1 + static_cast<int>(rng() % 20), 5);
    tokens.insert(tokens.end(), tail.begin(), tail.end());
    tokens.resize(std::min<size_t>(tokens.size(), 39));
    history.push_back(tokens);
    auto s = make_seq(i, tokens);
    hits += admit_and_compute(bm, *s, copies).num_hit_tokens;
    expect_valid(bm, {s.get()});
    bm.release(*s);
    bm.begin_step();
    expect_valid(bm, {});
  }
  EXPECT_GT(hits, 0);
}

// Reference: the set of cached token prefixes (one per cached block = path from the root).
TEST(PrefixCache, MatchAgreesWithBruteForceOverCachedPrefixes) {
  std::mt19937_64 rng(8);
  for (const int bs : {1, 3, 4, 16}) {
    BlockManager bm(4000, bs, true);
    std::vector<KvCopyOp> copies;
    std::vector<std::vector<int32_t>> prompts;
    std::set<std::vector<int32_t>> cached_prefixes;
    for (int i = 0; i < 60; ++i) {
      std::vector<int32_t> tokens;
      if (!prompts.empty() && rng() % 3) {
        const auto& old = prompts[rng() % prompts.size()];
        tokens.assign(old.begin(), old.begin() + static_cast<long>(rng() % old.size()));
      }
      const std::vector<int32_t> tail = random_tokens(rng, 1 + static_cast<int>(rng() % 40), 3);
      tokens.insert(tokens.end(), tail.begin(), tail.end());
      prompts.push_back(tokens);
      auto s = make_seq(i, tokens);
      admit_and_compute(bm, *s, copies);
      for (size_t k = 1; k * bs <= tokens.size(); ++k) {
        cached_prefixes.emplace(tokens.begin(), tokens.begin() + static_cast<long>(k * bs));
      }
      bm.release(*s);
      bm.begin_step();
    }
    ASSERT_EQ(bm.num_cached_blocks(), static_cast<int>(cached_prefixes.size()));
    for (int q = 0; q < 400; ++q) {
      std::vector<int32_t> query = random_tokens(rng, 1 + static_cast<int>(rng() % 60), 3);
      if (rng() % 2) {
        const auto& old = prompts[rng() % prompts.size()];
        query.insert(query.begin(), old.begin(),
                     old.begin() + static_cast<long>(rng() % old.size()));
      }
      size_t full = 0;
      while ((full + 1) * bs <= query.size() &&
             cached_prefixes.count(std::vector<int32_t>(
                 query.begin(), query.begin() + static_cast<long>((full + 1) * bs)))) {
        ++full;
      }
      size_t partial = 0;
      for (const auto& p : cached_prefixes) {
        if (p.size() != (full + 1) * bs ||
            !std::equal(p.begin(), p.begin() + static_cast<long>(full * bs), query.begin())) {
          continue;
        }
        size_t l = 0;
        while (full * bs + l < query.size() && l < static_cast<size_t>(bs) &&
               p[full * bs + l] == query[full * bs + l])
          ++l;
        partial = std::max(partial, l);
      }
      if (partial == static_cast<size_t>(bs)) partial = 0;  // would have been a full block
      const PrefixMatch m = bm.prefix_cache()->match(query);
      ASSERT_EQ(m.full_blocks.size(), full) << "bs " << bs << " query " << q;
      ASSERT_EQ(static_cast<size_t>(m.partial_tokens), partial) << "bs " << bs << " query " << q;
      for (size_t k = 0; k < full; ++k) {
        const auto bt = bm.prefix_cache()->block_tokens(m.full_blocks[k]);
        ASSERT_TRUE(std::equal(bt.begin(), bt.end(), query.begin() + static_cast<long>(k * bs)));
      }
    }
  }
}

}  // namespace
}  // namespace xy
