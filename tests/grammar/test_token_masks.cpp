// Token masks on real vocabularies (Llama-3 and Qwen3 tokenizer.json from the test data): the
// trie walk of PdaStates::token_mask against brute force (every token's bytes run through the
// automaton one by one) at every step of random constrained walks; rollback restores masks;
// stop tokens only where the grammar may end.
#include <gtest/gtest.h>

#include <random>

#include "grammar_test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"

namespace xy::grammar {
namespace {

const Tokenizer& load(const std::string& name) {
  return testing_util::real_tokenizer(name);
}

std::vector<int32_t> allowed_ids(const GrammarMatcher& m) {
  std::vector<uint32_t> mask(m.mask_words());
  m.fill_next_token_mask(mask);
  std::vector<int32_t> ids;
  for (size_t w = 0; w < mask.size(); ++w) {
    for (int b = 0; b < 32; ++b) {
      if (mask[w] >> b & 1) ids.push_back(static_cast<int32_t>(w * 32 + b));
    }
  }
  return ids;
}

std::vector<int32_t> brute_force_ids(const GrammarMatcher& m, int vocab) {
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < vocab; ++id) {
    if (m.is_token_allowed(id)) ids.push_back(id);
  }
  return ids;
}

const char* kSchema = R"({"type":"object","properties":{
  "name":{"type":"string","maxLength":12},
  "age":{"type":"integer","minimum":0,"maximum":150},
  "tags":{"type":"array","items":{"enum":["a","bb","ccc"]},"maxItems":3},
  "ok":{"type":"boolean"}},"required":["name","age"]})";

class TokenMasks : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenMasks, TrieWalkEqualsBruteForceAlongRandomWalks) {
  const Tokenizer& tok = load(GetParam());
  const int vocab = tok.vocab_size();
  const int32_t eos = *tok.eos_id();
  GrammarCompiler compiler(TokenVocabulary::from_tokenizer(tok, vocab));
  const std::vector<GrammarSpec> specs = {GrammarSpec::json_schema(kSchema),
                                          GrammarSpec::json_object(),
                                          GrammarSpec::regex("(yes|no|[0-9]{1,4}) ?é?")};
  std::mt19937 rng(3);
  for (const GrammarSpec& spec : specs) {
    auto g = compiler.compile(spec);
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    for (int walk = 0; walk < 2; ++walk) {
      GrammarMatcher m(*g, {eos});
      for (int step = 0; step < 24 && !m.is_terminated(); ++step) {
        const std::vector<int32_t> fast = allowed_ids(m);
        ASSERT_EQ(fast, brute_force_ids(m, vocab)) << spec.kind_name() << " step " << step;
        ASSERT_FALSE(fast.empty());
        const bool has_eos = std::find(fast.begin(), fast.end(), eos) != fast.end();
        ASSERT_EQ(has_eos, m.can_end());
        // Prefer continuing over stopping so walks go deep.
        int32_t pick = fast[rng() % fast.size()];
        if (pick == eos && fast.size() > 1) pick = fast[0] == eos ? fast[1] : fast[0];
        ASSERT_TRUE(m.accept_token(pick));
      }
    }
  }
}

TEST_P(TokenMasks, RollbackRestoresMasks) {
  const Tokenizer& tok = load(GetParam());
  GrammarCompiler compiler(TokenVocabulary::from_tokenizer(tok, tok.vocab_size()));
  auto g = compiler.compile(GrammarSpec::json_schema(kSchema));
  ASSERT_TRUE(g.is_ok());
  GrammarMatcher m(*g, {*tok.eos_id()});
  Result<std::vector<int32_t>> ids = tok.encode(R"({"name": "Bob", "age": 42})", false);
  ASSERT_TRUE(ids.is_ok());
  std::vector<std::vector<int32_t>> masks;
  for (int32_t id : *ids) {
    masks.push_back(allowed_ids(m));
    ASSERT_TRUE(m.accept_token(id)) << tok.id_to_token(id);
  }
  EXPECT_TRUE(m.can_end());
  EXPECT_TRUE(m.accept_token(*tok.eos_id()));
  EXPECT_TRUE(m.is_terminated());
  EXPECT_TRUE(allowed_ids(m).empty());
  m.rollback(1);
  for (size_t i = ids->size(); i-- > 0;) {
    m.rollback(1);
    ASSERT_EQ(allowed_ids(m), masks[i]) << "after rolling back to token " << i;
  }
  EXPECT_EQ(m.num_accepted(), 0);
  // A token the grammar rejects changes nothing.
  Result<std::vector<int32_t>> bad = tok.encode("[", false);
  ASSERT_TRUE(bad.is_ok());
  EXPECT_FALSE(m.accept_token((*bad)[0]));
  EXPECT_EQ(m.num_accepted(), 0);
}

TEST_P(TokenMasks, ForcedTextIsUnambiguousPrefix) {
  const Tokenizer& tok = load(GetParam());
  GrammarCompiler compiler(TokenVocabulary::from_tokenizer(tok, tok.vocab_size()));
  auto g = compiler.compile(GrammarSpec::json_schema(
      R"({"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]})"));
  ASSERT_TRUE(g.is_ok());
  GrammarMatcher m(*g, {*tok.eos_id()});
  EXPECT_EQ(m.forced_text(), "{");
  ASSERT_TRUE(m.accept_bytes("{"));
  // Optional whitespace comes first, so nothing is forced until it is passed.
  EXPECT_EQ(m.forced_text(), "");
  ASSERT_TRUE(m.accept_bytes("\""));
  EXPECT_EQ(m.forced_text(), "answer\"");
}

INSTANTIATE_TEST_SUITE_P(RealVocabularies, TokenMasks, ::testing::Values("llama3", "qwen3"));

}  // namespace
}  // namespace xy::grammar
