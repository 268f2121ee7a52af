// PrefixTree against a brute-force model: every routed key is remembered with its tenant, and
// the longest common prefix over allowed tenants' keys is the expected match (with no eviction).
#include "router/prefix_tree.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace xy::router {
namespace {

size_t lcp(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

TEST(PrefixTree, EmptyTreeMatchesNothing) {
  PrefixTree t;
  const PrefixMatch m = t.match("hello", {0, 1});
  EXPECT_EQ(m.replica, -1);
  EXPECT_EQ(m.matched_bytes, 0u);
}

TEST(PrefixTree, SplitsEdgesAndPrefersTheLongestHolder) {
  PrefixTree t;
  t.insert("system: you are helpful. user: hi", 0);
  t.insert("system: you are helpful. user: bye", 1);
  PrefixMatch m = t.match("system: you are helpful. user: bye now", {0, 1});
  EXPECT_EQ(m.replica, 1);
  EXPECT_EQ(m.matched_bytes, std::string("system: you are helpful. user: bye").size());
  m = t.match("system: you are helpful. user: hi there", {0, 1});
  EXPECT_EQ(m.replica, 0);
  // Only replica 0 allowed: it still holds the shared part.
  m = t.match("system: you are helpful. user: bye", {0});
  EXPECT_EQ(m.replica, 0);
  EXPECT_EQ(m.matched_bytes, std::string("system: you are helpful. user: ").size());
  // The shared part is held by both: the most recently routed wins.
  m = t.match("system: you are", {0, 1});
  EXPECT_EQ(m.replica, 1);
  EXPECT_EQ(m.matched_bytes, 15u);
}

TEST(PrefixTree, MatchesTheBruteForceModelOnRandomKeys) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    PrefixTree t(1u << 30);
    std::vector<std::pair<std::string, ReplicaId>> routed;
    // Small alphabet and shared stems so edges split often.
    std::vector<std::string> stems;
    for (int s = 0; s < 4; ++s) {
      std::string stem;
      for (int i = 0; i < int(rng() % 12); ++i) stem += char('a' + rng() % 3);
      stems.push_back(stem);
    }
    auto random_key = [&] {
      std::string k = stems[rng() % stems.size()];
      for (int i = 0; i < int(rng() % 10); ++i) k += char('a' + rng() % 3);
      return k;
    };
    for (int i = 0; i < 60; ++i) {
      const std::string k = random_key();
      const ReplicaId r = ReplicaId(rng() % 4);
      t.insert(k, r);
      routed.emplace_back(k, r);
      const std::string q = random_key();
      std::vector<ReplicaId> allowed;
      for (ReplicaId a = 0; a < 4; ++a)
        if (rng() % 3 != 0) allowed.push_back(a);
      size_t expect = 0;
      for (const auto& [key, tenant] : routed) {
        if (std::find(allowed.begin(), allowed.end(), tenant) == allowed.end()) continue;
        expect = std::max(expect, lcp(key, q));
      }
      const PrefixMatch m = t.match(q, allowed);
      ASSERT_EQ(m.matched_bytes, expect) << "query " << q;
      if (expect > 0) {
        // The chosen tenant really routed a key sharing that much.
        bool holds = false;
        for (const auto& [key, tenant] : routed)
          holds = holds || (tenant == m.replica && lcp(key, q) >= expect);
        EXPECT_TRUE(holds);
      } else {
        EXPECT_EQ(m.replica, -1);
      }
    }
  }
}

TEST(PrefixTree, EvictsTheLeastRecentlyRoutedBytesOfATenant) {
  PrefixTree t(/*max_bytes_per_tenant=*/20);
  t.insert("aaaaaaaaaa", 0);  // 10 bytes
  t.insert("bbbbbbbbbb", 0);  // 20 bytes
  t.insert("aaaaaaaaaa", 0);  // touch a: b is now the oldest
  t.insert("cccccccccc", 0);  // 30 > 20: b goes
  EXPECT_LE(t.tenant_bytes(0), 20u);
  EXPECT_EQ(t.match("bbbbbbbbbb", {0}).matched_bytes, 0u);
  EXPECT_EQ(t.match("aaaaaaaaaa", {0}).matched_bytes, 10u);
  EXPECT_EQ(t.match("cccccccccc", {0}).matched_bytes, 10u);
  // Another tenant's share is separate.
  t.insert("bbbbbbbbbb", 1);
  EXPECT_EQ(t.match("bbbbbbbbbb", {0, 1}).replica, 1);
}

TEST(PrefixTree, RemovingATenantForgetsOnlyItsPaths) {
  PrefixTree t;
  t.insert("shared prefix one", 0);
  t.insert("shared prefix two", 1);
  t.remove_tenant(0);
  EXPECT_EQ(t.tenant_bytes(0), 0u);
  EXPECT_EQ(t.match("shared prefix one", {0}).replica, -1);
  const PrefixMatch m = t.match("shared prefix one", {0, 1});
  EXPECT_EQ(m.replica, 1);
  EXPECT_EQ(m.matched_bytes, std::string("shared prefix ").size());
  t.remove_tenant(1);
  EXPECT_EQ(t.num_nodes(), 1u);  // only the root is left
}

}  // namespace
}  // namespace xy::router
