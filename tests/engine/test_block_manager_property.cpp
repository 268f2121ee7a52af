// Property test: random admissions, chunked prefills, decodes with speculative rollbacks,
// releases and step boundaries on one BlockManager, with BlockManager::validate (reference
// counts, free list vs cache vs owners, immutability of shared blocks, tree shape) after every
// operation, over pool / block sizes from tiny to roomy, with and without prefix caching.
#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "engine/kv_cache/block_manager.h"

namespace xy {
namespace {

struct Params {
  int num_blocks;
  int block_size;
  bool caching;
};

class BlockManagerProperty : public ::testing::TestWithParam<Params> {};

TEST_P(BlockManagerProperty, RandomOperationsKeepEveryInvariant) {
  const Params p = GetParam();
  std::mt19937_64 rng(static_cast<uint64_t>(p.num_blocks * 131 + p.block_size));
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  BlockManager bm(p.num_blocks, p.block_size, p.caching);
  std::vector<std::unique_ptr<Sequence>> live;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<KvCopyOp> copies;
  SeqId next_id = 0;
  int admitted = 0, hits = 0, evictions_seen = 0;
  const int capacity = p.num_blocks * p.block_size;

  for (int op = 0; op < 4000; ++op) {
    const int kind = uniform(0, 9);
    const int cached_before = bm.num_cached_blocks();
    if (kind <= 2) {  // a new sequence, often sharing an earlier prompt's beginning
      std::vector<int32_t> tokens;
      if (!prompts.empty() && uniform(0, 2) != 0) {
        const auto& old =
            prompts[static_cast<size_t>(uniform(0, static_cast<int>(prompts.size()) - 1))];
        tokens.assign(old.begin(), old.begin() + uniform(0, static_cast<int>(old.size())));
      }
      const int extra = uniform(1, std::max(1, capacity / 3));
      for (int i = 0; i < extra; ++i) tokens.push_back(uniform(0, 3));
      tokens.resize(std::min<size_t>(tokens.size(), static_cast<size_t>(capacity / 2)));
      if (tokens.empty()) tokens.push_back(1);
      prompts.push_back(tokens);
      Request r;
      r.id = next_id++;
      r.prompt_tokens = tokens;
      r.max_output_tokens = capacity;  // unused here: no scheduler
      auto seq = std::make_unique<Sequence>(r, static_cast<uint64_t>(r.id));
      const auto adm = bm.admit(*seq, uniform(1, 64), uniform(0, 2), uniform(0, 1) == 1, copies);
      if (adm) {
        seq->mark_admitted(static_cast<uint64_t>(r.id), adm->num_hit_tokens);
        ASSERT_GE(static_cast<int>(seq->block_table().size()) * p.block_size,
                  adm->num_hit_tokens + adm->num_new_tokens);
        ++admitted;
        hits += adm->num_hit_tokens > 0;
        live.push_back(std::move(seq));
      } else {
        ASSERT_TRUE(seq->block_table().empty()) << "failed admission left blocks behind";
      }
    } else if (kind <= 6 && !live.empty()) {  // one step of a live sequence
      Sequence& s = *live[static_cast<size_t>(uniform(0, static_cast<int>(live.size()) - 1))];
      if (s.is_prefilling()) {
        const int chunk = uniform(1, s.num_uncomputed_tokens());
        if (bm.ensure_slots(s, s.num_computed_tokens() + chunk)) {
          const int32_t sampled = uniform(0, 3);
          const bool done = chunk == s.num_uncomputed_tokens();
          s.apply_step(chunk,
                       done ? std::span<const int32_t>(&sampled, 1) : std::span<const int32_t>());
        } else {
          ASSERT_LT(bm.max_reachable_slots(s), s.num_computed_tokens() + chunk);
        }
      } else if (s.num_tokens() + 5 < capacity) {
        const int k = uniform(0, 4);
        if (bm.ensure_slots(s, s.num_computed_tokens() + 1 + k)) {
          const int accepted = uniform(0, k);
          std::vector<int32_t> out;
          for (int i = 0; i <= accepted; ++i) out.push_back(uniform(0, 3));
          s.apply_step(1 + accepted, out);  // rejected drafts' slots stay owned, unpublished
        }
      }
      bm.cache_full_blocks(s);
    } else if (kind <= 8 && !live.empty()) {  // finish / preempt / abort
      const size_t i = static_cast<size_t>(uniform(0, static_cast<int>(live.size()) - 1));
      bm.release(*live[i]);
      live.erase(live.begin() + static_cast<long>(i));
    } else {
      bm.begin_step();
      copies.clear();
    }
    evictions_seen += bm.num_cached_blocks() < cached_before;  // only eviction uncaches
    std::vector<const Sequence*> holders;
    for (const auto& s : live) holders.push_back(s.get());
    const Status v = bm.validate(holders);
    ASSERT_TRUE(v.is_ok()) << "op " << op << ": " << v.to_string();
  }
  for (const auto& s : live) bm.release(*s);
  bm.begin_step();
  ASSERT_TRUE(bm.validate({}).is_ok());
  EXPECT_EQ(bm.num_reclaimable_blocks(), p.num_blocks);
  EXPECT_GT(admitted, 100);
  if (p.caching && p.num_blocks >= 3) {
    EXPECT_GT(hits, 0);
    EXPECT_GT(evictions_seen, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Pools, BlockManagerProperty,
                         ::testing::Values(Params{1, 16, true}, Params{3, 4, true},
                                           Params{12, 4, true}, Params{40, 1, true},
                                           Params{64, 16, true}, Params{12, 4, false},
                                           Params{64, 16, false}));

}  // namespace
}  // namespace xy
