// Prefill/decode disaggregation at the engine seam: a prefill engine exports a prompt's K/V
// (EngineRequest::export_kv), a decode engine imports it with the token sampled there and
// continues. Greedy output must equal one engine doing everything, bit for bit, for many prompt
// lengths, block sizes (also different on the two sides), KV dtypes, batching and prefix-cache
// states of the decode engine; nothing may leak, and mismatched imports are refused.
#include <gtest/gtest.h>

#include <random>

#include "engine/engine.h"
#include "engine_test_model.h"

namespace xy {
namespace {

using testing::greedy_request;
using testing::make_engine;
using testing::random_tokens;
using testing::test_engine_config;

std::vector<int32_t> run_one(Engine& e, EngineRequest r) {
  auto res = e.generate({std::move(r)});
  XY_CHECK_MSG(res.is_ok(), res.status().to_string().c_str());
  return (*res)[0].token_ids;
}

struct Exported {
  std::shared_ptr<const KvSnapshot> kv;
  std::vector<int32_t> tokens;
  uint64_t rng_position = 0;

  // `r` continued on a decode engine from this export.
  EngineRequest import_into(EngineRequest r) const {
    r.imported_kv = kv;
    r.imported_tokens = tokens;
    r.imported_rng_position = rng_position;
    return r;
  }
};

// The prefill side of `r`: one token, the prompt's K/V exported.
Exported prefill_and_export(Engine& p, EngineRequest r) {
  r.max_tokens = 1;
  r.export_kv = true;
  auto res = p.generate({r});
  XY_CHECK(res.is_ok());
  const StreamDelta& d = (*res)[0];
  XY_CHECK(d.kv_export != nullptr);
  return {d.kv_export, d.token_ids, d.rng_position};
}

Exported prefill_and_export(Engine& p, const std::vector<int32_t>& prompt) {
  return prefill_and_export(p, greedy_request(prompt, 1));
}

TEST(EngineDisaggregation, GreedyOutputEqualsOneEngineForManyPromptsAndBlockSizes) {
  std::mt19937 rng(5);
  const int vocab = testing::tiny_model().tokenizer_vocab;
  for (DType kv : {DType::kF32, DType::kBF16, DType::kI8}) {
    for (auto [p_block, d_block] : {std::pair{16, 16}, {1, 16}, {16, 4}, {8, 1}}) {
      EngineConfig hc = test_engine_config(64, 16, 256, false);
      EngineConfig pc = test_engine_config(32, p_block, 4096 / p_block, true);
      EngineConfig dc = test_engine_config(48, d_block, 4096 / d_block, true);
      hc.kv_dtype = pc.kv_dtype = dc.kv_dtype = kv;
      auto hybrid = make_engine(hc);
      auto prefill = make_engine(pc);
      auto decode = make_engine(dc);
      for (int len : {1, 2, 7, 16, 17, 33, 64, 90}) {
        const std::vector<int32_t> prompt = random_tokens(rng, len, vocab);
        const std::vector<int32_t> expect = run_one(*hybrid, greedy_request(prompt, 10));
        const Exported ex = prefill_and_export(*prefill, prompt);
        ASSERT_EQ(ex.kv->num_tokens(), len);
        ASSERT_EQ(ex.tokens, std::vector<int32_t>(expect.begin(), expect.begin() + 1));
        EXPECT_EQ(run_one(*decode, ex.import_into(greedy_request(prompt, 10))), expect)
            << "kv " << dtype_name(kv) << " blocks " << p_block << "/" << d_block << " len " << len;
      }
      EXPECT_EQ(prefill->num_used_kv_blocks(), 0);
      EXPECT_EQ(decode->num_used_kv_blocks(), 0);
      EXPECT_TRUE(decode->validate_kv().is_ok());
    }
  }
}

TEST(EngineDisaggregation, ImportedRequestsMixWithOthersAndPrefixHits) {
  std::mt19937 rng(9);
  const int vocab = testing::tiny_model().tokenizer_vocab;
  auto hybrid = make_engine(test_engine_config(64, 16, 256, false));
  auto prefill = make_engine(test_engine_config(64, 16, 256, true));
  auto decode = make_engine(test_engine_config(24, 4, 1024, true));
  const std::vector<int32_t> shared = random_tokens(rng, 40, vocab);
  std::vector<EngineRequest> batch;
  std::vector<std::vector<int32_t>> expect;
  for (int i = 0; i < 8; ++i) {
    std::vector<int32_t> prompt = shared;
    if (i % 2 == 1) prompt = random_tokens(rng, 20 + i, vocab);
    const std::vector<int32_t> tail = random_tokens(rng, 3 + i, vocab);
    prompt.insert(prompt.end(), tail.begin(), tail.end());
    expect.push_back(run_one(*hybrid, greedy_request(prompt, 12)));
    EngineRequest r = greedy_request(prompt, 12);
    if (i % 4 != 3) {  // most are imported, some run here from scratch
      r = prefill_and_export(*prefill, prompt).import_into(std::move(r));
    }
    batch.push_back(std::move(r));
  }
  // The shared prefix is already cached on the decode engine for half of the imports.
  run_one(*decode, greedy_request(shared, 2));
  auto res = decode->generate(batch);
  ASSERT_TRUE(res.is_ok());
  for (size_t i = 0; i < batch.size(); ++i) EXPECT_EQ((*res)[i].token_ids, expect[i]) << i;
  EXPECT_EQ(decode->num_used_kv_blocks(), 0);
  EXPECT_TRUE(decode->validate_kv().is_ok());
  // The imported prefixes were published to the decode engine's prefix cache: a repeat hits.
  auto again = decode->generate({greedy_request(batch[0].prompt_tokens, 3)});
  ASSERT_TRUE(again.is_ok());
  EXPECT_GE((*again)[0].usage.cached_tokens, 32);
}

TEST(EngineDisaggregation, SeededSamplingContinuesTheSameRandomStream) {
  std::mt19937 rng(12);
  const int vocab = testing::tiny_model().tokenizer_vocab;
  auto hybrid = make_engine(test_engine_config(64, 16, 256, false));
  auto prefill = make_engine(test_engine_config(64, 16, 256, true));
  auto decode = make_engine(test_engine_config(64, 8, 512, true));
  for (int i = 0; i < 6; ++i) {
    const std::vector<int32_t> prompt = random_tokens(rng, 10 + 9 * i, vocab);
    EngineRequest r = greedy_request(prompt, 16);
    r.sampling.temperature = 1.0f;
    r.sampling.top_p = 0.9f;
    r.sampling.seed = 100 + i;
    const std::vector<int32_t> expect = run_one(*hybrid, r);
    const Exported ex = prefill_and_export(*prefill, r);
    EXPECT_GT(ex.rng_position, 0u);
    EXPECT_EQ(run_one(*decode, ex.import_into(r)), expect) << "request " << i;
  }
}

TEST(EngineDisaggregation, FirstTokenThatEndsTheRequestNeedsNoDecodeStep) {
  auto prefill = make_engine(test_engine_config(64, 16, 256, true));
  auto decode = make_engine(test_engine_config(64, 16, 256, true));
  std::mt19937 rng(3);
  const std::vector<int32_t> prompt = random_tokens(rng, 12, testing::tiny_model().tokenizer_vocab);
  const Exported ex = prefill_and_export(*prefill, prompt);
  // The client asked for one token.
  auto res = decode->generate({ex.import_into(greedy_request(prompt, 1))});
  ASSERT_TRUE(res.is_ok());
  EXPECT_EQ((*res)[0].token_ids, ex.tokens);
  EXPECT_EQ((*res)[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ(decode->stats().num_steps, 0);
  // A stop token as the imported token ends the request the same way.
  EngineRequest stop = greedy_request(prompt, 8);
  stop.stop.ignore_eos = false;
  stop.stop.stop_token_ids = {ex.tokens[0]};
  res = decode->generate({ex.import_into(stop)});
  ASSERT_TRUE(res.is_ok());
  EXPECT_EQ((*res)[0].finish_reason, FinishReason::kStop);
  EXPECT_EQ(decode->num_used_kv_blocks(), 0);
}

TEST(EngineDisaggregation, MismatchedImportsAreRefused) {
  auto prefill = make_engine(test_engine_config(64, 16, 256, true));
  EngineConfig bf16 = test_engine_config(64, 16, 256, true);
  bf16.kv_dtype = DType::kBF16;
  auto other = make_engine(bf16);
  std::mt19937 rng(4);
  const int vocab = testing::tiny_model().tokenizer_vocab;
  const std::vector<int32_t> prompt = random_tokens(rng, 20, vocab);
  const Exported ex = prefill_and_export(*prefill, prompt);

  auto h = other->add_request(ex.import_into(greedy_request(prompt, 4)));
  ASSERT_FALSE(h.is_ok());
  EXPECT_NE(h.status().message().find("bf16"), std::string::npos) << h.status().message();

  auto same = make_engine(test_engine_config(64, 16, 256, true));
  h = same->add_request(ex.import_into(greedy_request(random_tokens(rng, 20, vocab), 4)));
  ASSERT_FALSE(h.is_ok());
  EXPECT_NE(h.status().message().find("different prompt"), std::string::npos);

  EngineRequest no_token = greedy_request(prompt, 4);
  no_token.imported_kv = ex.kv;
  EXPECT_FALSE(same->add_request(no_token).is_ok());
  EngineRequest tokens_only = greedy_request(prompt, 4);
  tokens_only.imported_tokens = ex.tokens;
  EXPECT_FALSE(same->add_request(tokens_only).is_ok());
}

TEST(EngineDisaggregation, SnapshotRoundTripsBitForBit) {
  // gather -> scatter into other blocks -> gather again gives the same bytes, int8 scales too.
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kI8}) {
    KvCacheShape shape{2, 12, 4, 2, 8, dtype};
    auto cache = KvCache::create(shape);
    ASSERT_TRUE(cache.is_ok());
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    std::vector<float> k(2 * 8), v(2 * 8);
    for (int l = 0; l < 2; ++l) {
      for (int64_t slot = 0; slot < 48; ++slot) {
        for (float& x : k) x = nd(rng);
        for (float& x : v) x = nd(rng);
        ref::write_kv(k.data(), v.data(), &slot, 1, cache->layer(l));
      }
    }
    const std::vector<int32_t> table_a = {3, 0, 7};
    const std::vector<int32_t> table_b = {1, 11, 5};
    const KvSnapshot a = gather_kv_snapshot(*cache, table_a, {5, 6, 7, 8, 9, 10, 11, 12, 13, 14});
    ASSERT_TRUE(a.validate().is_ok());
    ASSERT_TRUE(scatter_kv_snapshot(a, *cache, table_b, 0, 10).is_ok());
    const KvSnapshot b = gather_kv_snapshot(*cache, table_b, a.tokens);
    EXPECT_EQ(a.layers, b.layers) << dtype_name(dtype);
    EXPECT_FALSE(scatter_kv_snapshot(a, *cache, table_b, 0, 11).is_ok());
    EXPECT_FALSE(scatter_kv_snapshot(a, *cache, std::vector<int32_t>{1}, 0, 10).is_ok());
  }
}

}  // namespace
}  // namespace xy
