// The router's side of disaggregation: which requests can be split, and when the role
// controller moves an instance.
#include <gtest/gtest.h>

#include "router/role_controller.h"
#include "router/routing_key.h"

namespace xy::router {
namespace {

// RoutedRequest::splittable, as the router sees a body.
bool can_disaggregate(const std::string& body, bool chat) {
  auto r = read_routed_request(body, chat);
  return r.is_ok() && r->splittable;
}

TEST(Disaggregation, SplitsSinglePromptRequestsOnly) {
  EXPECT_TRUE(can_disaggregate(R"({"model":"m","prompt":"hi","stream":true})", false));
  EXPECT_TRUE(can_disaggregate(R"({"model":"m","prompt":[1,2,3]})", false));
  EXPECT_TRUE(can_disaggregate(R"({"model":"m","prompt":["one"]})", false));
  EXPECT_TRUE(can_disaggregate(R"({"model":"m","messages":[],"n":1,"logprobs":false})", true));
  EXPECT_FALSE(can_disaggregate(R"({"model":"m","prompt":["a","b"]})", false));
  EXPECT_FALSE(can_disaggregate(R"({"model":"m","prompt":"hi","n":2})", false));
  EXPECT_FALSE(can_disaggregate(R"({"model":"m","prompt":"hi","echo":true})", false));
  EXPECT_FALSE(can_disaggregate(R"({"model":"m","prompt":"hi","logprobs":2})", false));
  EXPECT_FALSE(can_disaggregate(R"({"model":"m","messages":[],"logprobs":true})", true));
  EXPECT_FALSE(can_disaggregate(R"({"model":"m","prompt":"hi","kv_transfer_params":{}})", false));
  EXPECT_FALSE(can_disaggregate("not json", false));
}

ReplicaSnapshot instance(ReplicaId id, ReplicaRole role, int in_flight, double waiting = 0) {
  ReplicaSnapshot r;
  r.id = id;
  r.role = role;
  r.healthy = true;
  r.in_flight = in_flight;
  r.load.waiting = waiting;
  return r;
}

TEST(RoleController, MovesTheLeastBusyInstanceTowardThePressure) {
  RoleControlOptions o;
  o.ratio = 4;
  o.decode_weight = 8;
  using R = ReplicaRole;
  // Prefill queue of 6 against 16 decodes over two instances (1 weighted): move a decoder.
  RoleSwitch s = decide_role_switch(
      {instance(0, R::kPrefill, 5, 1), instance(1, R::kDecode, 9), instance(2, R::kDecode, 7)}, o);
  EXPECT_EQ(s.replica, 2);
  EXPECT_EQ(s.to, R::kPrefill);
  // Balanced: nothing moves.
  EXPECT_EQ(decide_role_switch({instance(0, R::kPrefill, 2), instance(1, R::kDecode, 30),
                                instance(2, R::kDecode, 30)},
                               o)
                .replica,
            -1);
  // Decode-heavy: the least busy prefill instance moves, but the last one never does.
  s = decide_role_switch(
      {instance(0, R::kPrefill, 1), instance(1, R::kPrefill, 0), instance(2, R::kDecode, 80)}, o);
  EXPECT_EQ(s.replica, 1);
  EXPECT_EQ(s.to, R::kDecode);
  EXPECT_EQ(
      decide_role_switch({instance(0, R::kPrefill, 0), instance(2, R::kDecode, 800)}, o).replica,
      -1);
  // Unhealthy and hybrid instances are not counted or moved.
  ReplicaSnapshot down = instance(3, R::kDecode, 0);
  down.healthy = false;
  EXPECT_EQ(decide_role_switch({instance(0, R::kPrefill, 20), instance(1, R::kDecode, 0), down,
                                instance(4, R::kHybrid, 0)},
                               o)
                .replica,
            -1);
}

}  // namespace
}  // namespace xy::router
