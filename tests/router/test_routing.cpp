// Routing policies, replica bookkeeping, the replica file, the /metrics reader and the routing
// key of requests.
#include <gtest/gtest.h>

#include "router/replica_metrics.h"
#include "router/replica_set.h"
#include "router/routing_key.h"
#include "router/routing_policy.h"

namespace xy::router {
namespace {

std::vector<ReplicaSnapshot> replicas(std::vector<int> in_flight) {
  std::vector<ReplicaSnapshot> out;
  for (size_t i = 0; i < in_flight.size(); ++i) {
    ReplicaSnapshot r;
    r.id = ReplicaId(i);
    r.url = "http://127.0.0.1:" + std::to_string(9000 + i);
    r.healthy = true;
    r.in_flight = in_flight[i];
    out.push_back(r);
  }
  return out;
}

TEST(RoutingPolicy, RoundRobinVisitsEveryReplicaInTurn) {
  RoutingPolicy p({RoutingPolicyKind::kRoundRobin});
  std::vector<int> seen;
  for (int i = 0; i < 6; ++i) seen.push_back(p.choose("k", replicas({0, 0, 0})).replica);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(RoutingPolicy, LeastLoadAndExclusion) {
  RoutingPolicy p({RoutingPolicyKind::kLeastLoad});
  EXPECT_EQ(p.choose("", replicas({3, 1, 2})).replica, 1);
  EXPECT_EQ(p.choose("", replicas({3, 1, 2}), {1}).replica, 2);
  EXPECT_EQ(p.choose("", replicas({3, 1, 2}), {0, 1, 2}).replica, -1);
  EXPECT_EQ(p.choose("", {}).replica, -1);
}

TEST(RoutingPolicy, PrefixAffinityFollowsThePrefixUntilLoadIsImbalanced) {
  RoutingOptions o;
  o.kind = RoutingPolicyKind::kPrefixAffinity;
  o.cache_threshold = 0.5;
  o.balance_abs_threshold = 4;
  o.balance_rel_threshold = 1.5;
  RoutingPolicy p(o);
  const std::string conv = "system: long shared instructions ... user: first question";
  // New prefix: least loaded.
  RoutingDecision d = p.choose(conv, replicas({2, 0, 1}));
  EXPECT_EQ(d.replica, 1);
  EXPECT_FALSE(d.prefix_hit);
  // The conversation continues: same replica although another is now less loaded.
  d = p.choose(conv + " assistant: answer user: second", replicas({0, 3, 1}));
  EXPECT_EQ(d.replica, 1);
  EXPECT_TRUE(d.prefix_hit);
  // Below the threshold: a short shared part does not pull the request.
  d = p.choose("system: completely different and much longer text that shares little",
               replicas({0, 3, 1}));
  EXPECT_EQ(d.replica, 0);
  EXPECT_FALSE(d.prefix_hit);
  // Imbalanced (gap 6 > 4 and 6 > 1.5 * 0): load wins over the prefix.
  d = p.choose(conv + " more", replicas({0, 6, 1}));
  EXPECT_EQ(d.replica, 0);
  EXPECT_FALSE(d.prefix_hit);
  // A replica that is gone is forgotten.
  p.forget(1);
  p.forget(0);
  d = p.choose(conv, replicas({1, 0, 5}));
  EXPECT_EQ(d.replica, 1);
  EXPECT_FALSE(d.prefix_hit);
}

TEST(ReplicaSet, EvictsAfterFailuresAndReadmitsOnHealth) {
  ReplicaSet set({/*evict_after_failures=*/2});
  set.update(
      {{"http://a:1", ReplicaRole::kHybrid, true}, {"http://b:2", ReplicaRole::kDecode, true}},
      false);
  EXPECT_TRUE(set.routable(std::nullopt).empty());  // unchecked replicas are not routed to
  EXPECT_EQ(set.report_health(0, true, std::nullopt), 2);
  EXPECT_EQ(set.report_health(1, true, std::nullopt), 2);
  EXPECT_EQ(set.routable(std::nullopt).size(), 2u);
  EXPECT_EQ(set.routable(ReplicaRole::kPrefill).size(), 1u);  // hybrid serves every role
  EXPECT_EQ(set.routable(ReplicaRole::kDecode).size(), 2u);
  EXPECT_EQ(set.report_health(0, false, std::nullopt), 0);
  EXPECT_EQ(set.report_health(0, false, std::nullopt), -1);
  EXPECT_EQ(set.routable(std::nullopt).size(), 1u);
  EXPECT_EQ(set.report_health(0, true, std::nullopt), 1);
  // A failed request evicts at once (the health check decides when it comes back).
  set.begin_request(1);
  EXPECT_EQ(set.get(1)->in_flight, 1);
  EXPECT_EQ(set.end_request(1, true), -1);
  EXPECT_EQ(set.get(1)->in_flight, 0);
  EXPECT_FALSE(set.get(1)->healthy);
  // Update: keeps known URLs (and ids), drops missing ones, adds new ones with new ids.
  const auto removed = set.update(
      {{"http://b:2", ReplicaRole::kPrefill, true}, {"http://c:3", ReplicaRole::kHybrid, true}},
      false);
  EXPECT_EQ(removed, (std::vector<ReplicaId>{0}));
  ASSERT_TRUE(set.get(1));
  EXPECT_EQ(set.get(1)->role, ReplicaRole::kPrefill);
  ASSERT_TRUE(set.get(2));
  EXPECT_FALSE(set.get(0));
}

TEST(ReplicaFile, ParsesUrlsRolesAndCommentsAndNamesBadLines) {
  auto specs = parse_replica_file(
      "# replicas\nhttp://127.0.0.1:8001\n  http://127.0.0.1:8002  decode # the big one\n\n"
      "http://127.0.0.1:8003,prefill\n");
  ASSERT_TRUE(specs.is_ok()) << specs.status().message();
  ASSERT_EQ(specs->size(), 3u);
  EXPECT_EQ((*specs)[1].url, "http://127.0.0.1:8002");
  EXPECT_EQ((*specs)[1].role, ReplicaRole::kDecode);
  EXPECT_EQ((*specs)[2].role, ReplicaRole::kPrefill);
  auto bad = parse_replica_file("http://a:1\nhttp://b:2 sideways\n");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  EXPECT_NE(bad.status().message().find("sideways"), std::string::npos);
  EXPECT_FALSE(parse_replica_file("https://a:1\n").is_ok());
  EXPECT_FALSE(parse_replica_file("http://a:1\nhttp://a:1/\n").is_ok());
}

TEST(ReplicaMetrics, ReadsXyserveAndVllmGauges) {
  const ReplicaLoad a = parse_replica_metrics(
      "# HELP xyserve:num_requests_running x\n"
      "xyserve:num_requests_running{model_name=\"tiny model\"} 3\n"
      "xyserve:num_requests_waiting{model_name=\"tiny\"} 2\n"
      "xyserve:kv_cache_usage_perc{model_name=\"tiny\"} 0.25\n"
      "xyserve:prefix_cache_queries_total{model_name=\"tiny\"} 100\n"
      "xyserve:prefix_cache_hits_total{model_name=\"tiny\"} 40\n"
      "garbage line\nxyserve:num_requests_waiting{broken 7\n");
  EXPECT_EQ(a.running, 3);
  EXPECT_EQ(a.waiting, 2);
  EXPECT_DOUBLE_EQ(a.kv_usage, 0.25);
  EXPECT_EQ(a.prefix_queries, 100);
  EXPECT_EQ(a.prefix_hits, 40);
  const ReplicaLoad v = parse_replica_metrics(
      "vllm:num_requests_running{model_name=\"m\",engine=\"0\"} 1\n"
      "vllm:num_requests_running{model_name=\"m\",engine=\"1\"} 2\n"
      "vllm:gpu_cache_usage_perc 0.5\n");
  EXPECT_EQ(v.running, 3);
  EXPECT_DOUBLE_EQ(v.kv_usage, 0.5);
  EXPECT_FALSE(v.reported_role.has_value());
  const ReplicaLoad r = parse_replica_metrics(
      "# HELP xyserve:instance_role x\n"
      "xyserve:instance_role{model_name=\"m\",role=\"decode\"} 1\n");
  ASSERT_TRUE(r.reported_role.has_value());
  EXPECT_EQ(*r.reported_role, ReplicaRole::kDecode);
}

TEST(ReplicaSet, TakesTheReportedRoleUnlessTheSpecOrTheControllerSetOne) {
  ReplicaSet set({2});
  auto plain = parse_replica_spec("http://a:1");
  auto given = parse_replica_spec("http://b:2 decode");
  ASSERT_TRUE(plain.is_ok() && given.is_ok());
  EXPECT_FALSE(plain->role_given);
  EXPECT_TRUE(given->role_given);
  set.update({*plain, *given}, false);
  ReplicaLoad prefill;
  prefill.reported_role = ReplicaRole::kPrefill;
  set.report_health(0, true, prefill);
  set.report_health(1, true, prefill);
  EXPECT_EQ(set.get(0)->role, ReplicaRole::kPrefill);  // reported
  EXPECT_EQ(set.get(1)->role, ReplicaRole::kDecode);   // the spec's
  set.set_role(0, ReplicaRole::kDecode);               // the controller's
  set.report_health(0, true, prefill);
  EXPECT_EQ(set.get(0)->role, ReplicaRole::kDecode);
}

TEST(RoutingKey, ChatMessagesAndPromptsInOrder) {
  auto chat = read_routed_request(
      R"({"model":"m","stream":true,"messages":[{"role":"system","content":"be brief"},)"
      R"({"role":"user","content":[{"type":"text","text":"hi"},{"type":"text","text":"!"}]}]})",
      true);
  ASSERT_TRUE(chat.is_ok());
  EXPECT_TRUE(chat->stream);
  EXPECT_EQ(chat->key,
            "system\x1f"
            "be brief\x1euser\x1fhi!\x1e");
  auto longer = read_routed_request(
      R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi!"},)"
      R"({"role":"assistant","content":"hello"}]})",
      true);
  ASSERT_TRUE(longer.is_ok());
  EXPECT_EQ(longer->key.rfind(chat->key, 0), 0u);  // a continued conversation extends the key
  auto completion = read_routed_request(R"({"prompt":"once upon"})", false);
  ASSERT_TRUE(completion.is_ok());
  EXPECT_EQ(completion->key, "once upon");
  EXPECT_FALSE(completion->stream);
  EXPECT_FALSE(read_routed_request("[1,2]", false).is_ok());
  EXPECT_FALSE(read_routed_request("{not json", true).is_ok());
}

}  // namespace
}  // namespace xy::router
