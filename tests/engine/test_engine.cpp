// xy::Engine end to end on the tiny random checkpoint: the engine's greedy tokens equal a plain
// one-sequence prefill/decode loop; streams concatenate to the final result; stop strings, stop
// ids and logprobs; abort frees every block; running out of KV preempts but finishes everyone;
// malformed requests are rejected; shutdown aborts what is left.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <random>
#include <thread>

#include "engine/engine.h"
#include "engine/sampling/logits_math.h"
#include "engine_test_model.h"
#include "model/kv_cache.h"
#include "model/token_table_builder.h"

namespace xy {
namespace {

using testing::greedy_request;
using testing::make_engine;
using testing::random_tokens;
using testing::test_engine_config;
using testing::tiny_model;

// Greedy generation without the engine: one prefill step, then one decode step per token.
std::vector<int32_t> naive_greedy(const std::vector<int32_t>& prompt, int max_tokens) {
  const Model& model = *tiny_model().model;
  const int bs = 16;
  const int total = static_cast<int>(prompt.size()) + max_tokens;
  const int nblocks = (total + bs - 1) / bs;
  Result<KvCache> cache = model.make_kv_cache(nblocks, bs, DType::kF32);
  XY_CHECK(cache.is_ok());
  std::vector<int32_t> blocks(static_cast<size_t>(nblocks));
  std::iota(blocks.begin(), blocks.end(), 0);
  const size_t vocab = static_cast<size_t>(model.config().vocab_size);
  std::vector<float> logits(vocab);
  ForwardScratch scratch;
  TokenTable t = make_single_sequence_table(prompt, 0, blocks, bs, false);
  XY_CHECK(model.forward(t, *cache, logits.data(), scratch).is_ok());
  std::vector<int32_t> out;
  int kv_len = static_cast<int>(prompt.size());
  while (true) {
    const int32_t tok = sampling::argmax(logits);
    out.push_back(tok);
    if (static_cast<int>(out.size()) == max_tokens) break;
    const int32_t one[1] = {tok};
    t = make_single_sequence_table(one, kv_len++, blocks, bs, false);
    XY_CHECK(model.forward(t, *cache, logits.data(), scratch).is_ok());
  }
  return out;
}

TEST(Engine, GreedyMatchesPlainDecodeLoop) {
  std::mt19937 rng(1);
  auto engine = make_engine(test_engine_config(/*budget=*/32));
  std::vector<EngineRequest> reqs;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 3; ++i) {
    prompts.push_back(random_tokens(rng, 20 + 17 * i, 500));
    reqs.push_back(greedy_request(prompts.back(), 12));
  }
  Result<std::vector<StreamDelta>> out = engine->generate(std::move(reqs));
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ((*out)[i].token_ids, naive_greedy(prompts[i], 12)) << "request " << i;
    EXPECT_EQ((*out)[i].finish_reason, FinishReason::kLength);
    EXPECT_EQ((*out)[i].usage.completion_tokens, 12);
    EXPECT_EQ((*out)[i].usage.prompt_tokens, static_cast<int>(prompts[i].size()));
  }
}

TEST(Engine, StreamDeltasConcatenateToDecodedText) {
  auto engine = make_engine(test_engine_config(64, 16, 256, true, /*loop_thread=*/true));
  std::mt19937 rng(2);
  EngineRequest req = greedy_request(random_tokens(rng, 30, 500), 24);
  Result<RequestHandle> h = engine->add_request(std::move(req));
  ASSERT_TRUE(h.is_ok());
  std::vector<int32_t> ids;
  std::string text;
  int deltas = 0;
  StreamDelta last;
  while (std::optional<StreamDelta> d = h->stream->next(std::chrono::seconds(30))) {
    ++deltas;
    ids.insert(ids.end(), d->token_ids.begin(), d->token_ids.end());
    EXPECT_EQ(d->token_times_s.size(), d->token_ids.size());
    text += d->text;
    last = std::move(*d);
    if (last.finished) break;
  }
  ASSERT_TRUE(last.finished);
  EXPECT_TRUE(h->stream->drained());
  EXPECT_EQ(last.finish_reason, FinishReason::kLength);
  EXPECT_EQ(ids.size(), 24u);
  EXPECT_GE(deltas, 1);
  EXPECT_EQ(text, tiny_model().tokenizer->decode(ids, /*skip_special_tokens=*/true));
  EXPECT_EQ(last.usage.completion_tokens, 24);
  const RequestTimings& t = last.timings;
  EXPECT_GT(t.arrival_s, 0.0);
  EXPECT_GE(t.first_scheduled_s, t.arrival_s);
  EXPECT_GE(t.first_token_s, t.first_scheduled_s);
  EXPECT_GE(t.finished_s, t.first_token_s);
}

TEST(Engine, StopStringEndsTextBeforeIt) {
  auto engine = make_engine(test_engine_config());
  std::mt19937 rng(3);
  const std::vector<int32_t> prompt = random_tokens(rng, 25, 500);
  Result<std::vector<StreamDelta>> full = engine->generate({greedy_request(prompt, 32)});
  ASSERT_TRUE(full.is_ok());
  const std::string text = (*full)[0].text;
  ASSERT_GE(text.size(), 12u);
  // A stop string from the middle of the greedy text, spanning whatever tokens it spans.
  const std::string stop = text.substr(text.size() / 2, 3);
  const size_t first = text.find(stop);
  EngineRequest r = greedy_request(prompt, 32);
  r.stop.stop_strings = {stop};
  Result<std::vector<StreamDelta>> cut = engine->generate({r});
  ASSERT_TRUE(cut.is_ok());
  EXPECT_EQ((*cut)[0].text, text.substr(0, first));
  EXPECT_EQ((*cut)[0].finish_reason, FinishReason::kStop);
  EXPECT_EQ((*cut)[0].stop_string, stop);
}

TEST(Engine, StopTokenIdAndLogprobs) {
  auto engine = make_engine(test_engine_config());
  std::mt19937 rng(4);
  const std::vector<int32_t> prompt = random_tokens(rng, 10, 500);
  EngineRequest r = greedy_request(prompt, 16);
  r.sampling.logprobs = 3;
  r.sampling.return_sampled_logprob = true;
  Result<std::vector<StreamDelta>> full = engine->generate({r});
  ASSERT_TRUE(full.is_ok());
  const StreamDelta& f = (*full)[0];
  ASSERT_EQ(f.logprobs.size(), f.token_ids.size());
  for (size_t i = 0; i < f.token_ids.size(); ++i) {
    ASSERT_EQ(f.logprobs[i].top_logprobs.size(), 3u);
    EXPECT_EQ(f.logprobs[i].top_logprobs[0].token, f.token_ids[i]);  // greedy = most likely
    EXPECT_EQ(f.logprobs[i].rank, 1);
    EXPECT_LE(f.logprobs[i].logprob, 0.0f);
  }
  // Stop at the 4th generated token (first occurrence).
  const int32_t stop_id = f.token_ids[3];
  const size_t at = static_cast<size_t>(std::find(f.token_ids.begin(), f.token_ids.end(), stop_id) -
                                        f.token_ids.begin());
  r.stop.stop_token_ids = {stop_id};
  Result<std::vector<StreamDelta>> cut = engine->generate({r});
  ASSERT_TRUE(cut.is_ok());
  EXPECT_EQ((*cut)[0].finish_reason, FinishReason::kStop);
  EXPECT_EQ((*cut)[0].stop_token_id, stop_id);
  EXPECT_EQ((*cut)[0].token_ids,
            std::vector<int32_t>(f.token_ids.begin(), f.token_ids.begin() + at + 1));
  EXPECT_EQ((*cut)[0].usage.completion_tokens, static_cast<int>(at + 1));
}

TEST(Engine, AbortFreesAllBlocksWithinAStep) {
  auto engine = make_engine(test_engine_config(32, 4, 512));
  std::mt19937 rng(5);
  std::vector<RequestHandle> handles;
  for (int i = 0; i < 8; ++i) {
    Result<RequestHandle> h = engine->add_request(greedy_request(random_tokens(rng, 40, 500), 64));
    ASSERT_TRUE(h.is_ok());
    handles.push_back(*h);
  }
  // Abort at different points of their lives, checking the pool after every step.
  for (int step = 0; engine->has_unfinished(); ++step) {
    if (step % 3 == 0 && step / 3 < static_cast<int>(handles.size())) {
      engine->abort(handles[static_cast<size_t>(step / 3)].id);
    }
    ASSERT_TRUE(engine->step().is_ok());
    ASSERT_TRUE(engine->validate_kv().is_ok()) << engine->validate_kv().to_string();
  }
  int aborted = 0;
  for (RequestHandle& h : handles) {
    StreamDelta all;
    while (std::optional<StreamDelta> d = h.stream->try_next()) all.merge(std::move(*d));
    EXPECT_TRUE(all.finished);
    aborted += all.finish_reason == FinishReason::kAborted;
  }
  EXPECT_GE(aborted, 7);
  EXPECT_EQ(engine->num_used_kv_blocks(), 0);
  EXPECT_EQ(engine->stats().num_running, 0);
  EXPECT_EQ(engine->stats().num_waiting, 0);
}

TEST(Engine, AbortFromAnotherThreadWithLoop) {
  auto engine = make_engine(test_engine_config(32, 16, 256, true, /*loop_thread=*/true));
  std::mt19937 rng(6);
  Result<RequestHandle> h = engine->add_request(greedy_request(random_tokens(rng, 20, 500), 2000));
  ASSERT_TRUE(h.is_ok());
  std::optional<StreamDelta> first = h->stream->next(std::chrono::seconds(30));
  ASSERT_TRUE(first.has_value());
  std::thread([&] { engine->abort(h->id); }).join();
  StreamDelta all = std::move(*first);
  while (!all.finished) {
    std::optional<StreamDelta> d = h->stream->next(std::chrono::seconds(30));
    ASSERT_TRUE(d.has_value());
    all.merge(std::move(*d));
  }
  EXPECT_EQ(all.finish_reason, FinishReason::kAborted);
  EXPECT_TRUE(all.error.is_ok());
  EXPECT_LT(all.usage.completion_tokens, 2000);
  for (int i = 0; i < 100 && engine->num_used_kv_blocks() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(engine->num_used_kv_blocks(), 0);
  EXPECT_FALSE(engine->has_unfinished());
}

TEST(Engine, OutOfKvPreemptsAndEveryoneFinishes) {
  // 8 blocks of 8 slots: each request alone needs up to 6 blocks, together ~48.
  auto engine = make_engine(test_engine_config(64, 8, 8));
  std::mt19937 rng(7);
  std::vector<EngineRequest> reqs;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 8; ++i) {
    prompts.push_back(random_tokens(rng, 12 + 3 * i, 500));
    reqs.push_back(greedy_request(prompts.back(), 16));
  }
  Result<std::vector<StreamDelta>> out = engine->generate(std::move(reqs));
  ASSERT_TRUE(out.is_ok());
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ((*out)[i].finish_reason, FinishReason::kLength);
    EXPECT_EQ((*out)[i].token_ids, naive_greedy(prompts[i], 16)) << "request " << i;
  }
  EXPECT_GT(engine->stats().num_preemptions, 0);
  EXPECT_EQ(engine->num_used_kv_blocks(), 0);
  EXPECT_TRUE(engine->validate_kv().is_ok());
  // Larger than the whole pool: rejected up front, not queued forever.
  Result<RequestHandle> big = engine->add_request(greedy_request(random_tokens(rng, 60, 500), 10));
  EXPECT_EQ(big.status().code(), ErrorCode::kResourceExhausted);
}

TEST(Engine, RejectsMalformedRequests) {
  auto engine = make_engine(test_engine_config());
  EXPECT_EQ(engine->add_request(greedy_request({}, 4)).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine->add_request(greedy_request({1, 5000}, 4)).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine->add_request(greedy_request({1, 2}, 0)).status().code(),
            ErrorCode::kInvalidArgument);
  EngineRequest bad_temp = greedy_request({1, 2}, 4);
  bad_temp.sampling.temperature = -1.0f;
  EXPECT_EQ(engine->add_request(bad_temp).status().code(), ErrorCode::kInvalidArgument);
  EngineRequest bad_stop = greedy_request({1, 2}, 4);
  bad_stop.stop.stop_strings = {""};
  EXPECT_EQ(engine->add_request(bad_stop).status().code(), ErrorCode::kInvalidArgument);
  // Context length: prompt must leave room for one token.
  EXPECT_EQ(engine->add_request(greedy_request(std::vector<int32_t>(4096, 5), 4)).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(engine->has_unfinished());
}

TEST(Engine, MaxTokensCappedByContextLength) {
  EngineConfig cfg = test_engine_config();
  cfg.max_model_len = 40;
  auto engine = make_engine(cfg);
  std::mt19937 rng(8);
  Result<std::vector<StreamDelta>> out =
      engine->generate({greedy_request(random_tokens(rng, 30, 500), 100)});
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ((*out)[0].token_ids.size(), 10u);
  EXPECT_EQ((*out)[0].finish_reason, FinishReason::kLength);
}

TEST(Engine, PrefixCacheHitsAreReported) {
  auto engine = make_engine(test_engine_config(64, 4, 256, true));
  std::mt19937 rng(9);
  const std::vector<int32_t> prefix = random_tokens(rng, 33, 500);
  std::vector<int32_t> a = prefix, b = prefix;
  a.push_back(7);
  b.push_back(9);
  ASSERT_TRUE(engine->generate({greedy_request(a, 4)}).is_ok());
  Result<std::vector<StreamDelta>> out = engine->generate({greedy_request(b, 4)});
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ((*out)[0].usage.cached_tokens, 33);
  const EngineStats st = engine->stats();
  EXPECT_EQ(st.prefix_cache_hits, 33);
  EXPECT_EQ(st.prefix_cache_queries, 68);
  EXPECT_GT(st.num_steps, 0);
  EXPECT_EQ(st.num_generated_tokens, 8);
}

TEST(Engine, ShutdownAbortsUnfinished) {
  auto engine = make_engine(test_engine_config(16, 16, 256, true, /*loop_thread=*/true));
  std::mt19937 rng(10);
  std::vector<RequestHandle> handles;
  for (int i = 0; i < 4; ++i) {
    Result<RequestHandle> h =
        engine->add_request(greedy_request(random_tokens(rng, 50, 500), 3000));
    ASSERT_TRUE(h.is_ok());
    handles.push_back(*h);
  }
  engine->shutdown();
  for (RequestHandle& h : handles) {
    StreamDelta all;
    while (std::optional<StreamDelta> d = h.stream->try_next()) all.merge(std::move(*d));
    EXPECT_TRUE(all.finished);
    EXPECT_EQ(all.finish_reason, FinishReason::kAborted);
  }
  EXPECT_EQ(engine->add_request(greedy_request({1, 2}, 2)).status().code(),
            ErrorCode::kResourceExhausted);
}

TEST(Engine, CalibratedBudgetIsBoundedAndQuick) {
  EngineConfig cfg = test_engine_config(/*budget=*/0);
  cfg.target_tpot_ms = 50.0;
  const auto t0 = std::chrono::steady_clock::now();
  auto engine = make_engine(cfg);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(engine->config().max_num_batched_tokens, 16);
  EXPECT_LE(engine->config().max_num_batched_tokens, 4096);
  EXPECT_LE(engine->config().max_num_seqs, engine->config().max_num_batched_tokens);
  EXPECT_LT(s, 10.0);  // generous: sanitizer builds; the calibration itself stops after ~1.5 s
}

}  // namespace
}  // namespace xy
