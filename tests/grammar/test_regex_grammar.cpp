// Regular expressions and GBNF grammars against std::regex (ECMAScript), an independent
// matcher: random patterns over a small alphabet, random strings, full-match agreement.
#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "grammar/ebnf_parser.h"
#include "grammar/regex_to_grammar.h"
#include "grammar_test_util.h"

namespace xy::grammar {
namespace {

using testing::compile_bytes;
using testing::matches;

// A random pattern and the same language as GBNF text.
struct RandomPattern {
  std::string regex, gbnf;
};

// Concatenation without operator+ chains (GCC 12 reports a false -Wrestrict on those).
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

class PatternGen {
 public:
  explicit PatternGen(uint32_t seed) : rng_(seed) {}

  RandomPattern make(int depth) {
    const int pick = static_cast<int>(rng_() % (depth <= 0 ? 3 : 7));
    switch (pick) {
      case 0: {
        const char c = "abc"[rng_() % 3];
        return {std::string(1, c), cat({"\"", std::string(1, c), "\""})};
      }
      case 1: {
        const bool neg = rng_() % 3 == 0;
        std::string body = rng_() % 2 ? "a-b" : "bc";
        const std::string cls = cat({"[", neg ? "^" : "", body, "]"});
        return {cls, cls};
      }
      case 2:
        return {"\\d", "[0-9]"};
      case 3: {
        RandomPattern a = make(depth - 1), b = make(depth - 1);
        return {cat({"(?:", a.regex, b.regex, ")"}), cat({"(", a.gbnf, " ", b.gbnf, ")"})};
      }
      case 4: {
        RandomPattern a = make(depth - 1), b = make(depth - 1);
        return {cat({"(?:", a.regex, "|", b.regex, ")"}), cat({"(", a.gbnf, " | ", b.gbnf, ")"})};
      }
      case 5: {
        RandomPattern a = make(depth - 1);
        const char* q[] = {"*", "+", "?"};
        const char* qq = q[rng_() % 3];
        return {cat({"(?:", a.regex, ")", qq}), cat({"(", a.gbnf, ")", qq})};
      }
      default: {
        RandomPattern a = make(depth - 1);
        const int lo = static_cast<int>(rng_() % 3);
        const int hi = lo + static_cast<int>(rng_() % 3);
        const std::string rep = rng_() % 4 == 0
                                    ? cat({"{", std::to_string(lo), ",}"})
                                    : cat({"{", std::to_string(lo), ",", std::to_string(hi), "}"});
        return {cat({"(?:", a.regex, ")", rep}), cat({"(", a.gbnf, ")", rep})};
      }
    }
  }
  std::string random_string() {
    const int n = static_cast<int>(rng_() % 8);
    std::string s;
    for (int i = 0; i < n; ++i) s += "abc0 "[rng_() % 5];
    return s;
  }

 private:
  std::mt19937 rng_;
};

TEST(RegexGrammar, AgreesWithStdRegexOnRandomPatterns) {
  PatternGen gen(7);
  int accepted = 0, total = 0;
  for (int p = 0; p < 300; ++p) {
    const RandomPattern pat = gen.make(4);
    const auto re_grammar = compile_bytes(GrammarSpec::regex(pat.regex));
    const auto ebnf_grammar = compile_bytes(GrammarSpec::ebnf(cat({"root ::= ", pat.gbnf, "\n"})));
    ASSERT_TRUE(re_grammar && ebnf_grammar) << pat.regex;
    const std::regex reference(pat.regex, std::regex::ECMAScript);
    for (int s = 0; s < 60; ++s) {
      const std::string text = gen.random_string();
      const bool expected = std::regex_match(text, reference);
      ASSERT_EQ(matches(re_grammar, text), expected) << "/" << pat.regex << "/ on '" << text << "'";
      ASSERT_EQ(matches(ebnf_grammar, text), expected) << pat.gbnf << " on '" << text << "'";
      accepted += expected;
      ++total;
    }
  }
  // Both outcomes must be well represented for the agreement to mean something.
  EXPECT_GT(accepted, total / 20);
  EXPECT_LT(accepted, total - total / 20);
}

TEST(RegexGrammar, EscapesClassesAndUnicode) {
  struct Case {
    const char* re;
    std::vector<std::string> yes, no;
  };
  const std::vector<Case> cases = {
      {"\\w+@\\w+\\.com", {"ab_1@x.com"}, {"a@b.org", "@x.com"}},
      {"[^a-c]{2}", {"dd", "é!", "日本"}, {"ad", "d", "ddd"}},
      {"\\u00e9|\\x41|\\u{1F600}", {"é", "A", "😀"}, {"e", "B"}},
      {"a.c", {"abc", "a😀c"}, {"a\nc", "ac"}},
      {"^(?<year>\\d{4})-\\d{2}$", {"2024-01"}, {"24-01", "2024-1"}},
      {"\\s*\\S", {"  x", "x"}, {"  "}},
      {"[\\d.-]+", {"-1.5", "..."}, {"", "a"}},
      {"a{2}b{1,}c{0,1}", {"aab", "aabbbc"}, {"ab", "aabcc"}},
      {"x{", {"x{"}, {"x"}},
  };
  for (const Case& c : cases) {
    const auto g = compile_bytes(GrammarSpec::regex(c.re));
    ASSERT_TRUE(g) << c.re;
    for (const std::string& s : c.yes) EXPECT_TRUE(matches(g, s)) << c.re << " should match " << s;
    for (const std::string& s : c.no) EXPECT_FALSE(matches(g, s)) << c.re << " should reject " << s;
  }
}

TEST(RegexGrammar, ClearErrors) {
  const auto err = [](const char* re) { return build_grammar(GrammarSpec::regex(re)).status(); };
  EXPECT_EQ(err("(a").code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(err("(a").message().find("missing ')'"), std::string::npos);
  EXPECT_EQ(err("a)").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(err("[a-").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(err("[z-a]").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(err("*a").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(err("(a)\\1").code(), ErrorCode::kUnsupported);
  EXPECT_NE(err("(a)\\1").message().find("backreference"), std::string::npos);
  EXPECT_EQ(err("a(?=b)").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(err("\\bword").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(err("a$b").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(err("a{3,1}").code(), ErrorCode::kInvalidArgument);
}

TEST(EbnfGrammar, JsonLikeGrammarAndComments) {
  const char* text = R"(# a list of numbers
root ::= "[" ws ( num ( ws "," ws num )* )? ws "]"
num  ::= "-"? [0-9]+   # integers
ws   ::= [ \t\n]*
)";
  const auto g = compile_bytes(GrammarSpec::ebnf(text));
  ASSERT_TRUE(g);
  EXPECT_TRUE(matches(g, "[]"));
  EXPECT_TRUE(matches(g, "[1, -20 ,3]"));
  EXPECT_FALSE(matches(g, "[1,]"));
  EXPECT_FALSE(matches(g, "[--1]"));
}

TEST(EbnfGrammar, RecursionAndContinuationLines) {
  const char* text =
      "root ::= expr\n"
      "expr ::= term (\"+\" term)*\n"
      "term ::= \"x\" |\n"
      "         \"(\" expr \")\"\n"
      "  | \"y\"\n";
  const auto g = compile_bytes(GrammarSpec::ebnf(text));
  ASSERT_TRUE(g);
  EXPECT_TRUE(matches(g, "x+(y+(x))"));
  EXPECT_TRUE(matches(g, "((((x))))"));
  EXPECT_FALSE(matches(g, "(x"));
  EXPECT_FALSE(matches(g, "x+"));
}

TEST(EbnfGrammar, ClearErrors) {
  const auto err = [](const char* text) { return build_grammar(GrammarSpec::ebnf(text)).status(); };
  EXPECT_NE(err("root ::= a\n").message().find("rule 'a' is not defined"), std::string::npos);
  EXPECT_NE(err("root ::= root \"x\" | \"y\"\n").message().find("left-recursive"),
            std::string::npos);
  EXPECT_NE(err("a ::= b? a \"x\"\nb ::= \"y\"\nroot ::= a\n").message().find("left-recursive"),
            std::string::npos);
  EXPECT_NE(err("x ::= \"a\"\n").message().find("no 'root' rule"), std::string::npos);
  EXPECT_NE(err("root ::= \"abc\n").message().find("line 1"), std::string::npos);
  EXPECT_NE(err("root ::= \"a\"\nroot ::= \"b\"\n").message().find("more than once"),
            std::string::npos);
  EXPECT_NE(err("root ::= [a\n").message().find("unterminated character class"), std::string::npos);
  EXPECT_NE(err("root ::= \"a\"{3,1}").message().find("n < m"), std::string::npos);
  EXPECT_EQ(err("").code(), ErrorCode::kInvalidArgument);
  // Repetitions that would expand past the element limit are refused, not allocated.
  std::string big = "root ::=";
  for (int i = 0; i < 60; ++i) big += cat({" r", std::to_string(i)});
  big += "\n";
  for (int i = 0; i < 60; ++i) big += cat({"r", std::to_string(i), " ::= \"abcd\"{10000}\n"});
  EXPECT_NE(err(big.c_str()).message().find("too large"), std::string::npos);
  EXPECT_NE(err("root ::= \"a\"{10001}").message().find("above 10000"), std::string::npos);
}

TEST(ChoiceGrammar, ExactlyTheChoices) {
  const auto g = compile_bytes(GrammarSpec::choice({"yes", "no", "maybe so"}));
  ASSERT_TRUE(g);
  EXPECT_TRUE(matches(g, "yes"));
  EXPECT_TRUE(matches(g, "maybe so"));
  EXPECT_FALSE(matches(g, "ye"));
  EXPECT_FALSE(matches(g, "yesno"));
  EXPECT_EQ(build_grammar(GrammarSpec::choice({})).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace xy::grammar
