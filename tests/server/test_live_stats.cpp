// LiveStats: the dashboard's recent windows (steps ring, throughput window, latency percentiles)
// on a controlled clock.
#include "server/live_stats.h"

#include <gtest/gtest.h>

#include "server/server_metrics.h"
#include "server/stats_json.h"

namespace xy::server {
namespace {

class LiveStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stats_.set_clock_for_testing([this] { return LiveStats::Clock::time_point() + now_; });
  }
  void advance(double s) {
    now_ +=
        std::chrono::duration_cast<LiveStats::Clock::duration>(std::chrono::duration<double>(s));
  }
  // One engine step of p/d/v tokens producing `gen` new tokens.
  void step(int p, int d, int v, int gen, double time_s = 0.01) {
    EngineStats next = engine_;
    next.num_steps += 1;
    next.num_prefill_tokens += p;
    next.num_decode_tokens += d;
    next.num_verify_tokens += v;
    next.num_generated_tokens += gen;
    next.total_step_time_s += time_s;
    next.last_step_prefill_tokens = p;
    next.last_step_decode_tokens = d;
    next.last_step_verify_tokens = v;
    next.last_step_time_s = time_s;
    stats_.on_engine_stats(engine_, next);
    engine_ = next;
  }

  LiveStats::Clock::duration now_{std::chrono::seconds(1000)};
  LiveStats stats_;
  EngineStats engine_;
};

TEST_F(LiveStatsTest, RecentStepsKeepTheMixOfEachStepOldestFirstAndAreBounded) {
  for (int i = 0; i < 200; ++i) {
    advance(0.01);
    step(/*p=*/i, /*d=*/3, /*v=*/i % 2, /*gen=*/3);
  }
  LiveSnapshot s = stats_.snapshot(engine_);
  ASSERT_EQ(s.recent_steps.size(), LiveStats::kMaxRecentSteps);
  EXPECT_EQ(s.recent_steps.front().prefill, 200 - int(LiveStats::kMaxRecentSteps));
  EXPECT_EQ(s.recent_steps.back().prefill, 199);
  EXPECT_EQ(s.recent_steps.back().decode, 3);
  EXPECT_EQ(s.recent_steps.back().verify, 1);
  EXPECT_EQ(s.recent_steps.back().n, 1);
  EXPECT_NEAR(s.recent_steps.back().time_s, 0.01, 1e-12);
  for (size_t i = 1; i < s.recent_steps.size(); ++i)
    EXPECT_GT(s.recent_steps[i].t_s, s.recent_steps[i - 1].t_s);
}

TEST_F(LiveStatsTest, SeveralStepsSeenAtOnceBecomeOneSampleOfTheirAverages) {
  EngineStats next = engine_;
  next.num_steps = 4;
  next.num_prefill_tokens = 100;
  next.num_decode_tokens = 8;
  next.total_step_time_s = 0.2;
  stats_.on_engine_stats(engine_, next);
  LiveSnapshot s = stats_.snapshot(next);
  ASSERT_EQ(s.recent_steps.size(), 1u);
  EXPECT_EQ(s.recent_steps[0].n, 4);
  EXPECT_DOUBLE_EQ(s.recent_steps[0].prefill, 25.0);
  EXPECT_DOUBLE_EQ(s.recent_steps[0].decode, 2.0);
  EXPECT_DOUBLE_EQ(s.recent_steps[0].time_s, 0.05);
}

TEST_F(LiveStatsTest, ThroughputCountsOnlyTokensInsideTheWindowAndFallsToZeroWhenIdle) {
  // 10 s at 100 steps/s, 2 tokens per step: 200 tok/s.
  for (int i = 0; i < 1000; ++i) {
    advance(0.01);
    step(0, 2, 0, 2);
  }
  LiveSnapshot busy = stats_.snapshot(engine_);
  EXPECT_DOUBLE_EQ(busy.window_s, 5.0);
  EXPECT_NEAR(busy.output_tokens_per_s, 200.0, 200.0 * 0.01);
  EXPECT_NEAR(busy.steps_per_s, 100.0, 1.0);
  advance(2.5);  // half the window idle
  EXPECT_NEAR(stats_.snapshot(engine_).output_tokens_per_s, 100.0, 2.0);
  advance(3.0);  // the whole window idle
  EXPECT_EQ(stats_.snapshot(engine_).output_tokens_per_s, 0.0);
}

TEST_F(LiveStatsTest, ThroughputRightAfterStartUsesTheTimeSinceStart) {
  advance(0.5);
  step(64, 0, 0, 1);
  advance(0.5);
  step(0, 1, 0, 1);
  LiveSnapshot s = stats_.snapshot(engine_);
  EXPECT_DOUBLE_EQ(s.window_s, 1.0);
  EXPECT_DOUBLE_EQ(s.output_tokens_per_s, 2.0);
  EXPECT_DOUBLE_EQ(s.prefill_tokens_per_s, 64.0);
}

TEST_F(LiveStatsTest, LatencyPercentilesCoverTheWindowOnly) {
  // 100 old requests far slower than the 100 recent ones: only the recent ones count.
  for (int i = 0; i < 100; ++i) stats_.on_request_finished(9.0, 20.0, 11);
  advance(61);
  for (int i = 1; i <= 100; ++i) {
    // ttft = i ms; 11 tokens over e2e = ttft + 10 * 2 ms: tpot 2 ms
    stats_.on_request_finished(i * 1e-3, i * 1e-3 + 0.02, 11);
  }
  stats_.on_request_finished(-1.0, 0.5, 0);  // no token: counts for e2e only
  LiveSnapshot s = stats_.snapshot(engine_);
  EXPECT_EQ(s.latency_requests, 101);
  ASSERT_TRUE(s.ttft_s.p50 && s.ttft_s.p90 && s.ttft_s.p99);
  EXPECT_NEAR(*s.ttft_s.p50, 0.050, 1e-12);
  EXPECT_NEAR(*s.ttft_s.p90, 0.090, 1e-12);
  EXPECT_NEAR(*s.ttft_s.p99, 0.099, 1e-12);
  EXPECT_NEAR(*s.tpot_s.p50, 0.002, 1e-9);
  EXPECT_NEAR(*s.e2e_s.p99, 0.120, 1e-9);  // rank 100 of 101: the abort's 0.5 s is the max
  advance(61);
  LiveSnapshot later = stats_.snapshot(engine_);
  EXPECT_EQ(later.latency_requests, 0);
  EXPECT_FALSE(later.ttft_s.p50.has_value());
}

TEST(ServerMetricsFinished, TheDashboardsCountsAreThePrometheusCounters) {
  ServerMetrics m("tiny");
  for (const char* reason : {"stop", "stop", "abort", "length", "stop", "error"}) {
    RequestRecord r;
    r.finish_reason = reason;
    m.on_request_finished(r);
  }
  const FinishedCounts f = m.finished_counts();
  EXPECT_EQ(f.stop, 3);
  EXPECT_EQ(f.length, 1);
  EXPECT_EQ(f.abort, 1);
  EXPECT_EQ(f.error, 1);
  const std::string text = m.render(EngineStats{}, 0, 0, 0);
  EXPECT_NE(text.find("finished_reason=\"stop\"} 3"), std::string::npos);
}

TEST(Percentile, NearestRankOnUnsortedInput) {
  EXPECT_EQ(percentile({5, 1, 4, 2, 3}, 0.5), 3);
  EXPECT_EQ(percentile({5, 1, 4, 2, 3}, 0.99), 5);
  EXPECT_EQ(percentile({5, 1, 4, 2, 3}, 0.0), 1);
  EXPECT_EQ(percentile({7}, 0.9), 7);
}

TEST_F(LiveStatsTest, StatsJsonHasEveryFieldOfTheSchema) {
  advance(1);
  step(10, 2, 5, 3);
  engine_.num_kv_blocks = 100;
  engine_.num_free_kv_blocks = 75;
  engine_.block_size = 16;
  engine_.prefix_cache_queries = 40;
  engine_.prefix_cache_hits = 10;
  engine_.max_num_batched_tokens = 512;
  engine_.num_draft_tokens = 8;
  engine_.num_accepted_tokens = 6;
  StatsContext c{"tiny", 2048, "cpu", 3, {5, 2, 1, 0}};
  nlohmann::json j = stats_json(stats_.snapshot(engine_), engine_, c);
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_EQ(j["max_model_len"], 2048);
  EXPECT_EQ(j["requests"]["in_flight"], 3);
  EXPECT_EQ(j["requests"]["finished"]["stop"], 5);
  EXPECT_EQ(j["requests"]["finished"]["length"], 2);
  EXPECT_EQ(j["requests"]["finished"]["abort"], 1);
  EXPECT_DOUBLE_EQ(j["kv_cache"]["usage"].get<double>(), 0.25);
  EXPECT_EQ(j["kv_cache"]["used_blocks"], 25);
  EXPECT_DOUBLE_EQ(j["kv_cache"]["prefix_cache_hit_rate"].get<double>(), 0.25);
  EXPECT_EQ(j["steps"]["budget"], 512);
  ASSERT_EQ(j["steps"]["recent"].size(), 1u);
  EXPECT_EQ(j["steps"]["recent"][0]["p"], 10.0);
  EXPECT_EQ(j["steps"]["recent"][0]["v"], 5.0);
  EXPECT_DOUBLE_EQ(j["spec"]["acceptance_rate"].get<double>(), 0.75);
  EXPECT_TRUE(j["latency"]["ttft_s"]["p50"].is_null());
  for (const char* key : {"uptime_s", "throughput", "totals", "latency"})
    EXPECT_TRUE(j.contains(key)) << key;
}

}  // namespace
}  // namespace xy::server
