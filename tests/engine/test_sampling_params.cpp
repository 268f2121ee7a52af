#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "engine/sampling/sampling_params.h"

namespace xy {
namespace {

// Expects an invalid-argument error whose message contains every fragment.
void expect_error(const Status& s, std::initializer_list<std::string> fragments) {
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  for (const std::string& f : fragments)
    EXPECT_NE(s.message().find(f), std::string::npos)
        << "message: " << s.message() << "\nmissing: " << f;
}

TEST(SamplingParams, DefaultsAndBoundaryValuesAreValid) {
  SamplingParams p;
  EXPECT_TRUE(p.validate().is_ok());
  p.temperature = 0;
  p.top_p = 1;
  p.top_k = -1;
  p.min_p = 1;
  p.repetition_penalty = 1e-3f;
  p.presence_penalty = -2;
  p.frequency_penalty = 2;
  p.logit_bias = {{0, -100.0f}, {5, 100.0f}};
  p.logprobs = 20;
  EXPECT_TRUE(p.validate().is_ok()) << p.validate().to_string();
  p.top_k = 1;
  p.top_p = 1e-6f;
  p.min_p = 0;
  EXPECT_TRUE(p.validate().is_ok());
}

TEST(SamplingParams, EachFieldOutOfRangeNamesFieldAndValue) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  auto with = [](auto mutate) {
    SamplingParams p;
    mutate(p);
    return p.validate();
  };
  expect_error(with([](SamplingParams& p) { p.temperature = -0.5f; }), {"'temperature'", "-0.5"});
  expect_error(with([&](SamplingParams& p) { p.temperature = nan; }), {"'temperature'", "nan"});
  expect_error(with([&](SamplingParams& p) { p.temperature = inf; }), {"'temperature'", "inf"});
  expect_error(with([](SamplingParams& p) { p.top_p = 0; }), {"'top_p'", "(0, 1]"});
  expect_error(with([](SamplingParams& p) { p.top_p = 1.5f; }), {"'top_p'", "1.5"});
  expect_error(with([&](SamplingParams& p) { p.top_p = nan; }), {"'top_p'"});
  expect_error(with([](SamplingParams& p) { p.top_k = -2; }), {"'top_k'", "-2"});
  expect_error(with([](SamplingParams& p) { p.min_p = -0.1f; }), {"'min_p'", "[0, 1]"});
  expect_error(with([](SamplingParams& p) { p.min_p = 1.01f; }), {"'min_p'", "1.01"});
  expect_error(with([](SamplingParams& p) { p.repetition_penalty = 0; }),
               {"'repetition_penalty'", "> 0"});
  expect_error(with([&](SamplingParams& p) { p.repetition_penalty = nan; }),
               {"'repetition_penalty'"});
  expect_error(with([](SamplingParams& p) { p.presence_penalty = 2.5f; }),
               {"'presence_penalty'", "2.5", "[-2, 2]"});
  expect_error(with([](SamplingParams& p) { p.frequency_penalty = -3; }),
               {"'frequency_penalty'", "-3", "[-2, 2]"});
  expect_error(with([](SamplingParams& p) { p.logit_bias[17] = 100.5f; }),
               {"'logit_bias'", "token 17", "100.5", "[-100, 100]"});
  expect_error(with([&](SamplingParams& p) { p.logit_bias[3] = nan; }),
               {"'logit_bias'", "token 3"});
  expect_error(with([](SamplingParams& p) { p.logprobs = 21; }), {"'logprobs'", "21", "[0, 20]"});
  expect_error(with([](SamplingParams& p) { p.logprobs = -1; }), {"'logprobs'", "-1"});
}

TEST(SamplingParams, TokenIdsCheckedAgainstVocabulary) {
  SamplingParams p;
  p.logit_bias = {{0, 1.0f}, {99, 1.0f}};
  p.allowed_token_ids = {0, 50, 99};
  EXPECT_TRUE(p.validate_token_ids(100).is_ok());
  expect_error(p.validate_token_ids(99), {"'logit_bias'", "token 99", "[0, 99)"});
  p.logit_bias = {{-1, 1.0f}};
  expect_error(p.validate_token_ids(100), {"'logit_bias'", "token -1"});
  p.logit_bias.clear();
  p.allowed_token_ids = {3, 100, 4};
  expect_error(p.validate_token_ids(100), {"'allowed_token_ids[1]'", "100", "[0, 100)"});
}

TEST(SamplingParams, GreedyAndTopKHelpers) {
  SamplingParams p;
  p.temperature = 0;
  EXPECT_TRUE(p.is_greedy());
  p.temperature = 5e-6f;  // below vLLM's epsilon
  EXPECT_TRUE(p.is_greedy());
  p.temperature = 1e-4f;
  EXPECT_FALSE(p.is_greedy());
  p.top_k = 0;
  EXPECT_FALSE(p.top_k_enabled(10));
  p.top_k = -1;
  EXPECT_FALSE(p.top_k_enabled(10));
  p.top_k = 10;
  EXPECT_FALSE(p.top_k_enabled(10));
  p.top_k = 9;
  EXPECT_TRUE(p.top_k_enabled(10));
}

}  // namespace
}  // namespace xy
