// Trace loaders on small copies of the real traces (testdata/bench) and on malformed input.
#include <gtest/gtest.h>

#include "bench/trace.h"
#include "bench/trace_shaping.h"

namespace xy::bench {
namespace {

const std::string kData = XY_TESTDATA_DIR "/bench";

TEST(AzureTrace, SmallCopyRowsAndFields) {
  auto text = read_text_file(kData + "/azure_conv_head40.csv");
  ASSERT_TRUE(text) << text.status().to_string();
  auto t = parse_azure_csv(*text, "head40.csv");
  ASSERT_TRUE(t) << t.status().to_string();
  ASSERT_EQ(t->requests.size(), 40u);
  EXPECT_EQ(t->requests[0].arrival_s, 0.0);
  EXPECT_EQ(t->requests[0].input_tokens, 374);
  EXPECT_EQ(t->requests[0].output_tokens, 44);
  // 18:15:50.9951690 - 18:15:46.6805900
  EXPECT_NEAR(t->requests[1].arrival_s, 4.314579, 1e-6);
  EXPECT_EQ(t->requests[1].input_tokens, 396);
  EXPECT_EQ(t->requests[1].output_tokens, 109);
  // last row: 18:16:10.8268860,28,175
  EXPECT_NEAR(t->requests[39].arrival_s, 24.146296, 1e-6);
  EXPECT_EQ(t->requests[39].input_tokens, 28);
  EXPECT_TRUE(t->requests[39].hash_ids.empty());
}

TEST(AzureTrace, BadRowsNameTheirLine) {
  const std::string head = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  auto bad_ts =
      parse_azure_csv(head + "2023-11-16 18:15:46.68,1,2\n2023-11-16 18:1x:46,1,2\n", "f.csv");
  ASSERT_FALSE(bad_ts);
  EXPECT_NE(bad_ts.status().message().find("f.csv:3: bad TIMESTAMP"), std::string::npos)
      << bad_ts.status().message();
  auto bad_num = parse_azure_csv(head + "2023-11-16 18:15:46.68,-1,2\n", "f.csv");
  ASSERT_FALSE(bad_num);
  EXPECT_NE(bad_num.status().message().find("f.csv:2: bad ContextTokens"), std::string::npos);
  auto fields = parse_azure_csv(head + "2023-11-16 18:15:46.68,1\n", "f.csv");
  ASSERT_FALSE(fields);
  EXPECT_NE(fields.status().message().find("f.csv:2: expected 3"), std::string::npos);
  auto header = parse_azure_csv("a,b,c\n", "f.csv");
  ASSERT_FALSE(header);
  EXPECT_NE(header.status().message().find("f.csv:1: expected header"), std::string::npos);
  EXPECT_EQ(header.status().code(), ErrorCode::kFormatError);
}

TEST(AzureTrace, CrlfAndDayRollover) {
  auto t = parse_azure_csv(
      "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-12-31 23:59:59.5,5,6\r\n"
      "2024-01-01 00:00:00.25,7,8\r\n",
      "x");
  ASSERT_TRUE(t) << t.status().to_string();
  ASSERT_EQ(t->requests.size(), 2u);
  EXPECT_NEAR(t->requests[1].arrival_s, 0.75, 1e-9);
}

TEST(MooncakeTrace, SmallCopyRowsAndHashIds) {
  auto text = read_text_file(kData + "/mooncake_conv_head25.jsonl");
  ASSERT_TRUE(text);
  auto t = parse_mooncake_jsonl(*text, "head25.jsonl");
  ASSERT_TRUE(t) << t.status().to_string();
  ASSERT_EQ(t->requests.size(), 25u);
  const auto& r3 = t->requests[3];
  EXPECT_EQ(r3.input_tokens, 2290);
  EXPECT_EQ(r3.output_tokens, 316);
  EXPECT_EQ(r3.hash_ids, (std::vector<int64_t>{0, 42, 43, 44, 45}));
  EXPECT_EQ(t->requests.back().arrival_s, 3.0);
  long long total_in = 0;
  for (const auto& r : t->requests) total_in += r.input_tokens;
  EXPECT_EQ(total_in, 354721);
}

TEST(MooncakeTrace, BadRowsNameTheirLine) {
  const std::string ok =
      R"({"timestamp": 0, "input_length": 600, "output_length": 3, "hash_ids": [1, 2]})";
  auto json = parse_mooncake_jsonl(ok + "\n{not json\n", "m.jsonl");
  ASSERT_FALSE(json);
  EXPECT_NE(json.status().message().find("m.jsonl:2: not a JSON object"), std::string::npos);
  auto blocks = parse_mooncake_jsonl(
      ok + "\n\n" +
          R"({"timestamp": 5, "input_length": 1025, "output_length": 3, "hash_ids": [1, 2]})",
      "m.jsonl");
  ASSERT_FALSE(blocks);
  EXPECT_NE(blocks.status().message().find(
                "m.jsonl:3: 'hash_ids' has 2 ids, expected ceil(1025 / 512) = 3"),
            std::string::npos)
      << blocks.status().message();
  auto missing = parse_mooncake_jsonl(R"({"timestamp": 5, "output_length": 3})", "m.jsonl");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("m.jsonl:1: missing 'input_length'"),
            std::string::npos);
  auto neg =
      parse_mooncake_jsonl(R"({"timestamp": -5, "input_length": 1, "output_length": 3})", "m");
  ASSERT_FALSE(neg);
  EXPECT_NE(neg.status().message().find("'timestamp' must be a non-negative integer"),
            std::string::npos);
}

TEST(NamedTraces, FullFilesLoadWithTheirRowCounts) {
  const std::string data = XY_SOURCE_DIR "/data";
  struct Case {
    const char* name;
    size_t rows;
  } cases[] = {{"azure-conv", 19366},
               {"azure-code", 8819},
               {"mooncake-conv", 12031},
               {"mooncake-synthetic", 3993}};
  for (const auto& c : cases) {
    auto t = load_trace(c.name, data);
    ASSERT_TRUE(t) << c.name << ": " << t.status().to_string();
    EXPECT_EQ(t->requests.size(), c.rows) << c.name;
    EXPECT_EQ(t->name, c.name);
    EXPECT_TRUE(
        std::is_sorted(t->requests.begin(), t->requests.end(),
                       [](const auto& a, const auto& b) { return a.arrival_s < b.arrival_s; }));
  }
  auto unknown = load_trace("burstgpt", data);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.status().code(), ErrorCode::kInvalidArgument);
  auto missing = load_trace("/nonexistent/x.csv", data);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

TEST(TraceShaping, ScaleCutSpreadClamp) {
  Trace t;
  for (int i = 0; i < 10; ++i) t.requests.push_back({static_cast<double>(i), 1000, 100, {}});
  EXPECT_NEAR(mean_rate(t), 10.0 / 9.0, 1e-12);
  scale_rate(t, 2.0);
  EXPECT_EQ(t.requests[9].arrival_s, 4.5);
  set_mean_rate(t, 9.0);  // span 9 / 9 req/s -> 10 requests over 10/9 s
  EXPECT_NEAR(t.requests[9].arrival_s, 10.0 / 9.0, 1e-12);
  cut_trace(t, 0.5, 0);
  EXPECT_EQ(t.requests.size(), 5u);  // 0, 1/9, 2/9, 3/9, 4/9
  cut_trace(t, 0, 3);
  EXPECT_EQ(t.requests.size(), 3u);

  Trace b;
  for (int i = 0; i < 3; ++i) b.requests.push_back({0.0, 10, 10, {}});
  b.requests.push_back({3.0, 10, 10, {}});
  spread_bucketed_arrivals(b, 3.0);
  EXPECT_EQ(b.requests[0].arrival_s, 0.0);
  EXPECT_EQ(b.requests[1].arrival_s, 1.0);
  EXPECT_EQ(b.requests[2].arrival_s, 2.0);
  EXPECT_EQ(b.requests[3].arrival_s, 3.0);

  Trace c;
  c.requests.push_back({0, 1500, 700, {7, 8, 9}});
  c.requests.push_back({0, 100, 50, {1}});
  EXPECT_EQ(clamp_to_context(c, 1024), 1);
  EXPECT_EQ(c.requests[0].output_tokens, 700);
  EXPECT_EQ(c.requests[0].input_tokens, 324);
  EXPECT_EQ(c.requests[0].hash_ids, (std::vector<int64_t>{7}));
  EXPECT_EQ(c.requests[1].input_tokens, 100);
}

TEST(TraceShaping, PoissonArrivals) {
  Trace burst = make_poisson_trace(32, 0, 200, 128, 1);
  ASSERT_EQ(burst.requests.size(), 32u);
  for (const auto& r : burst.requests) {
    EXPECT_EQ(r.arrival_s, 0.0);
    EXPECT_EQ(r.input_tokens, 200);
    EXPECT_EQ(r.output_tokens, 128);
  }
  Trace p = make_poisson_trace(20000, 5.0, 10, 10, 7);
  EXPECT_NEAR(mean_rate(p), 5.0, 0.2);  // 20000 exponential gaps: relative sd ~0.7%
  Trace q = make_poisson_trace(100, 5.0, 10, 10, 7);
  for (size_t i = 0; i < q.requests.size(); ++i)
    EXPECT_EQ(q.requests[i].arrival_s, p.requests[i].arrival_s);  // deterministic per seed
}

}  // namespace
}  // namespace xy::bench
