// URL parsing, request bodies, chunk parsing, and the stream recorder's TTFT / ITL bookkeeping.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bench/openai_protocol.h"
#include "bench/stream_recorder.h"

namespace xy::bench {
namespace {

TEST(Url, Forms) {
  auto u = parse_url("http://127.0.0.1:8000");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8000");
  EXPECT_EQ(endpoint_path(*u, Endpoint::kCompletions), "/v1/completions");
  u = parse_url("localhost/api/v1/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(endpoint_path(*u, Endpoint::kChat), "/api/v1/chat/completions");
  EXPECT_EQ(parse_url("https://x").status().code(), ErrorCode::kUnsupported);
  EXPECT_FALSE(parse_url("http://x:99999"));
  EXPECT_FALSE(parse_url("http://:80"));
  EXPECT_FALSE(parse_url("http://x:abc"));
}

TEST(RequestBody, CompletionsAndChat) {
  GenerationParams p;
  p.model = "m";
  p.max_tokens = 128;
  auto c = nlohmann::json::parse(make_request_body(Endpoint::kCompletions, "hi", p));
  EXPECT_EQ(c["prompt"], "hi");
  EXPECT_EQ(c["max_tokens"], 128);
  EXPECT_EQ(c["stream"], true);
  EXPECT_EQ(c["stream_options"]["include_usage"], true);
  EXPECT_EQ(c["ignore_eos"], true);
  EXPECT_EQ(c["model"], "m");
  p.ignore_eos = false;
  auto ch = nlohmann::json::parse(make_request_body(Endpoint::kChat, "yo", p));
  EXPECT_EQ(ch["messages"][0]["role"], "user");
  EXPECT_EQ(ch["messages"][0]["content"], "yo");
  EXPECT_FALSE(ch.contains("ignore_eos"));
  EXPECT_FALSE(ch.contains("prompt"));
}

TEST(Chunk, Fields) {
  auto a = parse_chunk(R"({"choices":[{"index":0,"text":"ab","finish_reason":null}]})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->text, "ab");
  auto b = parse_chunk(R"({"choices":[{"delta":{"role":"assistant","content":"x"}}]})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->text, "x");
  auto u = parse_chunk(R"({"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->text, "");
  EXPECT_EQ(*u->prompt_tokens, 7);
  EXPECT_EQ(*u->completion_tokens, 3);
  EXPECT_TRUE(parse_chunk("[DONE]")->done);
  EXPECT_EQ(parse_chunk(R"({"error":{"message":"too long","type":"x"}})")->error, "too long");
  EXPECT_FALSE(parse_chunk("garbage"));
  EXPECT_EQ(error_message_from_body(R"({"error":{"message":"bad key"}})"), "bad key");
  EXPECT_EQ(error_message_from_body("plain"), "plain");
}

TEST(StreamRecorder, TtftItlAndUsage) {
  RequestRecord r;
  r.sent_s = 1.0;
  StreamRecorder rec(r, nullptr);
  EXPECT_TRUE(rec.on_event(R"({"choices":[{"delta":{"role":"assistant","content":""}}]})", 1.1));
  EXPECT_TRUE(rec.on_event(R"({"choices":[{"text":"a"}]})", 1.3));  // first text: TTFT 0.3
  EXPECT_TRUE(rec.on_event(R"({"choices":[{"text":"b"}]})", 1.35));
  EXPECT_TRUE(rec.on_event(R"({"choices":[{"text":"c"}]})", 1.45));
  EXPECT_TRUE(
      rec.on_event(R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3}})", 1.46));
  EXPECT_TRUE(rec.on_event("[DONE]", 1.46));
  rec.finish(1.5);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NEAR(r.ttft_s, 0.3, 1e-12);
  EXPECT_NEAR(r.e2e_s, 0.5, 1e-12);
  EXPECT_EQ(r.output_tokens, 3);
  EXPECT_EQ(r.prompt_tokens, 9);
  ASSERT_EQ(r.itl_s.size(), 2u);
  EXPECT_NEAR(r.itl_s[0], 0.05, 1e-12);
  EXPECT_NEAR(r.itl_s[1], 0.10, 1e-12);
  EXPECT_NEAR(tpot_s(r), 0.1, 1e-12);
}

TEST(StreamRecorder, MultiTokenChunkSplitsItl) {
  RequestRecord r;
  StreamRecorder rec(r, nullptr);
  rec.on_event(R"({"choices":[{"text":"a"}]})", 0.1);
  rec.on_event(R"({"choices":[{"text":"bcd"}]})", 0.4);
  rec.on_event(R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":4}})", 0.4);
  rec.on_event("[DONE]", 0.4);
  rec.finish(0.4);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.output_tokens, 4);
  // Without a tokenizer the chunk counts as one token: one ITL of 0.3 s.
  ASSERT_EQ(r.itl_s.size(), 1u);
  EXPECT_NEAR(r.itl_s[0], 0.3, 1e-12);
}

TEST(StreamRecorder, LogprobsCountTokensWithEmptyText) {
  auto lp = parse_chunk(
      R"({"choices":[{"text":"","logprobs":{"tokens":["",""],"token_logprobs":[-1,-2]}}]})");
  ASSERT_TRUE(lp);
  EXPECT_EQ(lp->logprob_tokens, 2);
  auto chat = parse_chunk(
      R"({"choices":[{"delta":{"content":""},"logprobs":{"content":[{"token":"a"}]}}]})");
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->logprob_tokens, 1);
  RequestRecord r;
  StreamRecorder rec(r, nullptr);
  rec.on_event(R"({"choices":[{"text":"","logprobs":{"tokens":[""]}}]})", 0.2);
  rec.on_event(R"({"choices":[{"text":"","logprobs":{"tokens":["",""]}}]})", 0.5);
  rec.on_event(R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":3}})", 0.5);
  rec.on_event("[DONE]", 0.5);
  rec.finish(0.5);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NEAR(r.ttft_s, 0.2, 1e-12);
  ASSERT_EQ(r.itl_s.size(), 2u);  // the 2-token chunk: 0.3 s split over its tokens
  EXPECT_NEAR(r.itl_s[0], 0.15, 1e-12);
  GenerationParams p;
  p.stream_logprobs = true;
  EXPECT_EQ(nlohmann::json::parse(make_request_body(Endpoint::kCompletions, "x", p))["logprobs"],
            0);
  auto cb = nlohmann::json::parse(make_request_body(Endpoint::kChat, "x", p));
  EXPECT_EQ(cb["logprobs"], true);
  EXPECT_EQ(cb["top_logprobs"], 0);
}

TEST(StreamRecorder, Errors) {
  RequestRecord a;
  StreamRecorder ra(a, nullptr);
  EXPECT_FALSE(ra.on_event(R"({"error":{"message":"boom"}})", 0.1));
  ra.finish(0.2);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.error, "stream error: boom");
  RequestRecord b;
  StreamRecorder rb(b, nullptr);
  rb.on_event(R"({"choices":[{"text":"a"}]})", 0.1);
  rb.finish(0.2);
  EXPECT_TRUE(b.ok) << "a body that ends without [DONE] is accepted (some servers omit it)";
  EXPECT_EQ(b.output_tokens, 1);
  RequestRecord c;
  StreamRecorder rc(c, nullptr);
  rc.on_event("[DONE]", 0.1);
  rc.finish(0.2);
  EXPECT_EQ(c.error.rfind("stream ended without generated text", 0), 0u);
}

}  // namespace
}  // namespace xy::bench
