// SSE parsing: split chunks, comments, CRLF, multi-line data, [DONE].
#include <gtest/gtest.h>

#include "bench/sse_parser.h"

namespace xy::bench {
namespace {

using V = std::vector<std::string>;

TEST(SseParser, EventsSplitAtEveryByte) {
  const std::string stream =
      ": keep-alive\n\ndata: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\nevent: x\nid: 3\ndata: [DONE]\n\n";
  V all;
  SseParser p;
  for (char c : stream)
    for (auto& e : p.feed(std::string_view(&c, 1))) all.push_back(e);
  EXPECT_EQ(all, (V{"{\"a\":1}", "{\"b\":2}", "[DONE]"}));
  EXPECT_TRUE(p.finish().empty());
}

TEST(SseParser, WholeBufferAndOddPieces) {
  SseParser p;
  V got = p.feed("data: one\n\ndata: tw");
  EXPECT_EQ(got, V{"one"});
  got = p.feed("o\r");
  EXPECT_TRUE(got.empty());
  got = p.feed("\n\r\n");  // "\r\n" after "\r" must not count as two line ends
  EXPECT_EQ(got, V{"two"});
}

TEST(SseParser, MultiLineDataAndNoSpace) {
  SseParser p;
  EXPECT_EQ(p.feed("data:first\ndata: second\n\n"), V{"first\nsecond"});
  EXPECT_EQ(p.feed("data\n\n"), V{""});  // a field with no colon has an empty value
  EXPECT_TRUE(p.feed(":only a comment\n\n").empty());
  EXPECT_TRUE(p.feed("retry: 10\n\n").empty());
}

TEST(SseParser, FinishFlushesUnterminatedEvent) {
  SseParser p;
  EXPECT_TRUE(p.feed("data: [DONE]").empty());
  EXPECT_EQ(p.finish(), V{"[DONE]"});
  EXPECT_TRUE(p.finish().empty());
}

}  // namespace
}  // namespace xy::bench
