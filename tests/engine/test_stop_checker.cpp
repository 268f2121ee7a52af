// StopChecker: EOS / stop ids, stop strings across token boundaries (held back, excluded from the
// output), overlapping stops, UTF-8, max_tokens.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/stop_checker.h"

namespace xy {
namespace {

struct Fed {
  std::string text;
  FinishReason finish = FinishReason::kNone;
  std::optional<std::string> stop_string;
  std::optional<int32_t> stop_token;
};

// Feeds text pieces as tokens 100, 101, ...; flushes at the end like the engine does.
Fed feed(StopChecker& c, const std::vector<std::string>& pieces) {
  Fed out;
  int n = 0;
  for (const std::string& p : pieces) {
    StopChecker::Outcome o = c.on_token(100 + n, p, n + 1);
    ++n;
    out.text += o.text;
    if (o.finish == FinishReason::kLength) {
      StopChecker::Outcome t = c.flush("");
      out.text += t.text;
      out.finish = t.finish == FinishReason::kStop ? t.finish : o.finish;
      out.stop_string = t.stop_string;
      return out;
    }
    if (o.finish != FinishReason::kNone) {
      out.finish = o.finish;
      out.stop_string = o.stop_string;
      out.stop_token = o.stop_token_id;
      return out;
    }
  }
  StopChecker::Outcome t = c.flush("");
  out.text += t.text;
  out.finish = t.finish;
  out.stop_string = t.stop_string;
  return out;
}

StopChecker make(std::vector<std::string> stops, int max_new = 1000) {
  StopConditions cond;
  cond.stop_strings = std::move(stops);
  return StopChecker(cond, {}, max_new);
}

TEST(StopChecker, NoStopsPassesTextThrough) {
  StopChecker c = make({});
  Fed f = feed(c, {"Hello", " wor", "ld"});
  EXPECT_EQ(f.text, "Hello world");
  EXPECT_EQ(f.finish, FinishReason::kNone);
}

TEST(StopChecker, StopStringSplitAcrossTokensIsExcluded) {
  StopChecker c = make({"STOP"});
  StopChecker::Outcome o1 = c.on_token(1, "abc S", 1);
  EXPECT_EQ(o1.text, "abc ");  // "S" may start "STOP": held back
  EXPECT_EQ(c.held_back(), "S");
  StopChecker::Outcome o2 = c.on_token(2, "TO", 2);
  EXPECT_EQ(o2.text, "");
  EXPECT_EQ(c.held_back(), "STO");
  StopChecker::Outcome o3 = c.on_token(3, "P and more", 3);
  EXPECT_EQ(o3.text, "");
  EXPECT_EQ(o3.finish, FinishReason::kStop);
  EXPECT_EQ(o3.stop_string, "STOP");
}

TEST(StopChecker, FalseStartIsReleased) {
  StopChecker c = make({"STOP"});
  Fed f = feed(c, {"ab ST", "OX", " end"});
  EXPECT_EQ(f.text, "ab STOX end");
  EXPECT_EQ(f.finish, FinishReason::kNone);
}

TEST(StopChecker, HeldTextFlushedAtLengthFinish) {
  StopChecker c = make({"STOP"}, /*max_new=*/2);
  Fed f = feed(c, {"x", "yST"});
  EXPECT_EQ(f.text, "xyST");
  EXPECT_EQ(f.finish, FinishReason::kLength);
}

TEST(StopChecker, StopCompletedByDetokenizerTailAtLength) {
  StopChecker c = make({"END"}, 1);
  StopChecker::Outcome o = c.on_token(1, "aE", 1);
  EXPECT_EQ(o.finish, FinishReason::kLength);
  EXPECT_EQ(o.text, "a");
  StopChecker::Outcome t = c.flush("ND!");
  EXPECT_EQ(t.text, "");
  EXPECT_EQ(t.finish, FinishReason::kStop);
}

TEST(StopChecker, EarliestOfOverlappingStopsWins) {
  StopChecker c = make({"cde", "bcdx", "abcz"});
  Fed f = feed(c, {"xxab", "cd", "e"});
  // "bcdx"/"abcz" could match until "e" arrives; "cde" matches at index 4.
  EXPECT_EQ(f.text, "xxab");
  EXPECT_EQ(f.stop_string, "cde");
}

TEST(StopChecker, TwoStopsInOneTokenEarliestFirst) {
  StopChecker c = make({"zz", "yy"});
  Fed f = feed(c, {"a yy b zz c"});
  EXPECT_EQ(f.text, "a ");
  EXPECT_EQ(f.stop_string, "yy");
}

TEST(StopChecker, StopInsideStopPrefixOverlap) {
  // "aab" contains the start of a later match: "aaab" must stop after the first 'a'.
  StopChecker c = make({"aab"});
  Fed f = feed(c, {"a", "a", "a", "b"});
  EXPECT_EQ(f.text, "a");
  EXPECT_EQ(f.finish, FinishReason::kStop);
}

TEST(StopChecker, IncludeStopStringInOutput) {
  StopConditions cond;
  cond.stop_strings = {"\n\n"};
  cond.include_stop_str_in_output = true;
  StopChecker c(cond, {}, 100);
  Fed f = feed(c, {"line\n", "\nnext"});
  EXPECT_EQ(f.text, "line\n\n");
}

TEST(StopChecker, UnicodeStopStringsAndHeldBackCharacters) {
  StopChecker c = make({"。終", "😀"});
  // "。" alone could start "。終": held back whole (3 bytes), never split.
  StopChecker::Outcome o = c.on_token(1, "日本語。", 1);
  EXPECT_EQ(o.text, "日本語");
  EXPECT_EQ(c.held_back(), "。");
  Fed f = feed(c, {"x😀y"});
  EXPECT_EQ(f.text, "。x");
  EXPECT_EQ(f.stop_string, "😀");
}

TEST(StopChecker, EosAndStopTokenIds) {
  StopConditions cond;
  cond.stop_token_ids = {7};
  StopChecker c(cond, /*eos=*/{2}, 100);
  EXPECT_TRUE(c.is_stop_token(2));
  EXPECT_TRUE(c.is_stop_token(7));
  EXPECT_FALSE(c.is_stop_token(3));
  StopChecker::Outcome o = c.on_token(2, "", 1);
  EXPECT_EQ(o.finish, FinishReason::kStop);
  EXPECT_EQ(o.stop_token_id, 2);
  EXPECT_FALSE(o.stop_string.has_value());
}

TEST(StopChecker, IgnoreEosKeepsStopTokenIds) {
  StopConditions cond;
  cond.ignore_eos = true;
  cond.stop_token_ids = {7};
  StopChecker c(cond, {2}, 100);
  EXPECT_FALSE(c.is_stop_token(2));
  EXPECT_TRUE(c.is_stop_token(7));
}

TEST(StopChecker, StopTokenFlushesHeldText) {
  StopConditions cond;
  cond.stop_strings = {"STOP"};
  StopChecker c(cond, {2}, 100);
  EXPECT_EQ(c.on_token(5, "abST", 1).text, "ab");
  StopChecker::Outcome o = c.on_token(2, "", 2);
  EXPECT_EQ(o.text, "ST");
  EXPECT_EQ(o.finish, FinishReason::kStop);
}

TEST(StopChecker, MaxTokensIsLength) {
  StopChecker c = make({}, 3);
  EXPECT_EQ(c.on_token(1, "a", 1).finish, FinishReason::kNone);
  EXPECT_EQ(c.on_token(1, "b", 2).finish, FinishReason::kNone);
  EXPECT_EQ(c.on_token(1, "c", 3).finish, FinishReason::kLength);
}

TEST(StopChecker, ValidateRejectsEmptyStopString) {
  StopConditions cond;
  cond.stop_strings = {"ok", ""};
  EXPECT_FALSE(cond.validate().is_ok());
  cond.stop_strings = {"ok"};
  cond.stop_token_ids = {-1};
  EXPECT_FALSE(cond.validate().is_ok());
}

}  // namespace
}  // namespace xy
