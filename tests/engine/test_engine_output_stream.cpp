// OutputStream: deltas the consumer has not taken merge into one (bounded, never blocks the
// producer); the final delta ends the stream; timeouts; a blocked consumer wakes on push.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/output_stream.h"

namespace xy {
namespace {

StreamDelta delta(std::vector<int32_t> ids, std::string text, bool finished = false) {
  StreamDelta d;
  d.request_id = 7;
  d.token_ids = std::move(ids);
  d.text = std::move(text);
  for (size_t i = 0; i < d.token_ids.size(); ++i) d.token_times_s.push_back(1.0 + i);
  d.usage.completion_tokens = static_cast<int>(d.token_ids.size());
  d.finished = finished;
  if (finished) d.finish_reason = FinishReason::kLength;
  return d;
}

TEST(OutputStream, UntakenDeltasMerge) {
  OutputStream s(7);
  s.push(delta({1}, "a"));
  s.push(delta({2, 3}, "bc"));
  std::optional<StreamDelta> d = s.try_next();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->token_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(d->text, "abc");
  EXPECT_EQ(d->token_times_s.size(), 3u);
  EXPECT_EQ(d->usage.completion_tokens, 2);  // cumulative fields: the latest value
  EXPECT_FALSE(d->finished);
  EXPECT_FALSE(s.try_next().has_value());
}

TEST(OutputStream, FinalDeltaEndsTheStream) {
  OutputStream s(7);
  s.push(delta({1}, "a"));
  s.push(delta({2}, "b", /*finished=*/true));
  EXPECT_TRUE(s.finished());
  EXPECT_FALSE(s.drained());
  std::optional<StreamDelta> d = s.next(std::chrono::milliseconds(0));
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->finished);
  EXPECT_EQ(d->finish_reason, FinishReason::kLength);
  EXPECT_EQ(d->text, "ab");
  EXPECT_TRUE(s.drained());
  // Nothing more will come: no waiting.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(s.next().has_value());
  EXPECT_FALSE(s.next(std::chrono::seconds(10)).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(OutputStream, TimeoutWithoutData) {
  OutputStream s(7);
  EXPECT_FALSE(s.next(std::chrono::milliseconds(5)).has_value());
  EXPECT_FALSE(s.finished());
}

TEST(OutputStream, BlockedConsumerWakesOnPush) {
  OutputStream s(7);
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int i = 0; i < 100; ++i) s.push(delta({i}, "x", i == 99));
  });
  std::vector<int32_t> ids;
  std::string text;
  while (std::optional<StreamDelta> d = s.next()) {
    ids.insert(ids.end(), d->token_ids.begin(), d->token_ids.end());
    text += d->text;
    if (d->finished) break;
  }
  producer.join();
  ASSERT_EQ(ids.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ids[static_cast<size_t>(i)], i);
  EXPECT_EQ(text, std::string(100, 'x'));
}

TEST(OutputStream, SharedNotifierWakesOneConsumerForManyStreams) {
  auto notifier = std::make_shared<StreamNotifier>();
  OutputStream a(1, notifier), b(2, notifier);
  EXPECT_FALSE(notifier->wait(std::chrono::milliseconds(1)));
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    b.push(delta({5}, "b", true));
  });
  EXPECT_TRUE(notifier->wait(std::chrono::seconds(30)));
  producer.join();
  EXPECT_FALSE(a.try_next().has_value());
  std::optional<StreamDelta> d = b.try_next();
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->finished);
  a.push(delta({1}, "a"));
  EXPECT_TRUE(notifier->wait(std::chrono::milliseconds(0)));   // already pending: no wait
  EXPECT_FALSE(notifier->wait(std::chrono::milliseconds(1)));  // consumed
}

TEST(OutputStream, FinishReasonNames) {
  EXPECT_STREQ(finish_reason_name(FinishReason::kStop), "stop");
  EXPECT_STREQ(finish_reason_name(FinishReason::kLength), "length");
  EXPECT_STREQ(finish_reason_name(FinishReason::kAborted), "abort");
  EXPECT_EQ(finish_reason_name(FinishReason::kNone), nullptr);
}

}  // namespace
}  // namespace xy
