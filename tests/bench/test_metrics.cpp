// Percentiles, TPOT and goodput against hand-computed values.
#include <gtest/gtest.h>

#include "bench/metrics.h"

namespace xy::bench {
namespace {

TEST(Percentile, LinearInterpolationAsNumpy) {
  // numpy.percentile([1, 2, 3, 4], q): q=50 -> 2.5, q=90 -> 3.7, q=99 -> 3.97
  const std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(v, 50), 2.5);
  EXPECT_NEAR(percentile(v, 90), 3.7, 1e-12);
  EXPECT_NEAR(percentile(v, 99), 3.97, 1e-12);
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 4);
  EXPECT_DOUBLE_EQ(percentile({7}, 99), 7);
  EXPECT_DOUBLE_EQ(percentile({}, 50), 0);
  const Distribution d = distribution(v);
  EXPECT_EQ(d.n, 4u);
  EXPECT_DOUBLE_EQ(d.mean, 2.5);
  EXPECT_DOUBLE_EQ(d.min, 1);
  EXPECT_DOUBLE_EQ(d.max, 4);
}

RequestRecord rec(double sent, double ttft, double e2e, int out) {
  RequestRecord r;
  r.ok = true;
  r.sent_s = sent;
  r.ttft_s = ttft;
  r.e2e_s = e2e;
  r.output_tokens = out;
  r.prompt_tokens = 10;
  return r;
}

TEST(Summary, ThroughputTpotAndGoodput) {
  std::vector<RequestRecord> rs;
  rs.push_back(rec(0, 0.5, 1.5, 11));  // TPOT (1.5 - 0.5) / 10 = 100 ms
  rs.push_back(rec(1, 2.5, 3.0, 6));   // TTFT 2500 ms > SLO; TPOT 100 ms
  rs.push_back(rec(2, 1.0, 3.0, 5));   // TPOT 500 ms > SLO
  rs.push_back(rec(3, 0.2, 0.2, 1));   // one token: no TPOT, counts as meeting it
  RequestRecord bad;
  bad.error = "HTTP 500: boom";
  rs.push_back(bad);
  const Summary s = summarize(rs, 5.0, {2000, 100});
  EXPECT_EQ(s.total, 5);
  EXPECT_EQ(s.completed, 4);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.errors.at("HTTP 500: boom"), 1);
  EXPECT_EQ(s.output_tokens, 23);
  EXPECT_EQ(s.input_tokens, 40);
  EXPECT_DOUBLE_EQ(s.request_throughput, 0.8);
  EXPECT_DOUBLE_EQ(s.output_throughput, 23 / 5.0);
  EXPECT_DOUBLE_EQ(s.total_throughput, 63 / 5.0);
  EXPECT_EQ(s.good_requests, 2);  // requests 0 and 3
  EXPECT_DOUBLE_EQ(s.goodput, 0.4);
  EXPECT_EQ(s.tpot_ms.n, 3u);  // the one-token request has no TPOT
  EXPECT_NEAR(s.tpot_ms.mean, (100 + 100 + 500) / 3.0, 1e-9);
  EXPECT_NEAR(s.ttft_ms.p50, 750, 1e-9);  // median of 200, 500, 1000, 2500
  EXPECT_NEAR(s.e2e_ms.max, 3000, 1e-9);
}

TEST(Summary, ItlAndTimeline) {
  RequestRecord r = rec(0, 0.1, 1.1, 3);
  r.itl_s = {0.5, 0.25, 0.25};
  r.chunks = {{0.1, 1}, {0.6, 1}, {1.1, 2}};
  const Summary s = summarize(std::vector<RequestRecord>{r}, 2.0, {});
  EXPECT_EQ(s.itl_ms.n, 3u);
  EXPECT_NEAR(s.itl_ms.mean, 1000.0 / 3, 1e-9);
  EXPECT_EQ(s.good_requests, 1);  // no SLO: everything is good
  EXPECT_DOUBLE_EQ(s.bucket_s, 0.25);
  ASSERT_EQ(s.timeline.size(), 8u);
  double tokens = 0;
  for (const auto& b : s.timeline) tokens += b.output_tok_per_s * s.bucket_s;
  EXPECT_DOUBLE_EQ(tokens, 4);
  EXPECT_DOUBLE_EQ(s.timeline[4].output_tok_per_s, 8);  // 2 tokens at t = 1.1 in [1.0, 1.25)
  EXPECT_EQ(s.timeline[0].in_flight, 1);
  EXPECT_EQ(s.timeline[5].in_flight, 0);
  EXPECT_DOUBLE_EQ(s.timeline[4].completed_per_s, 4);
}

}  // namespace
}  // namespace xy::bench
