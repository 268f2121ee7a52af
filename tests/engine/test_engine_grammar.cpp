// Structured output through xy::Engine on the tiny random checkpoint. Random weights make this a
// real test: nothing but the grammar's mask keeps the output valid.
//   * greedy and temperature-1.0 outputs of a JSON-Schema-constrained request always parse and
//     validate, and end with finish_reason stop;
//   * greedy constrained tokens are bitwise identical alone, in a mixed batch with unconstrained
//     requests, with other budgets (chunked prefill), with and without prefix caching, and with
//     every speculation method (chain and tree drafts are verified under per-node masks);
//     seeded sampled constrained tokens are identical with and without speculation;
//   * with ignore_eos a request still ends when its grammar is complete.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "engine/engine.h"
#include "grammar/grammar_compiler.h"
#include "spec_test_models.h"

namespace xy {
namespace {

using testing::make_engine;
using testing::random_tokens;
using testing::test_engine_config;

const char* kSchema = R"({"type":"object","properties":{
  "name":{"type":"string","maxLength":10},
  "age":{"type":"integer","minimum":0,"maximum":120},
  "tags":{"type":"array","items":{"enum":["x","yy","zzz"]},"maxItems":3},
  "pet":{"anyOf":[{"type":"null"},{"type":"object","properties":{"kind":{"enum":["cat","dog"]}},"required":["kind"]}]}},
  "required":["name","age","tags"]})";

grammar::GrammarCompiler& compiler() {
  static grammar::GrammarCompiler c(grammar::TokenVocabulary::from_tokenizer(
      *testing::tiny_model().tokenizer, testing::tiny_model().model->config().vocab_size));
  return c;
}

std::shared_ptr<const grammar::CompiledGrammar> compiled(const grammar::GrammarSpec& spec) {
  auto g = compiler().compile(spec);
  XY_CHECK_MSG(g.is_ok(), g.status().to_string().c_str());
  return *g;
}

// Valid under kSchema (an independent check of the few keywords it uses).
bool valid_person(const nlohmann::json& v) {
  if (!v.is_object() || !v.contains("name") || !v.contains("age") || !v.contains("tags"))
    return false;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "name" && it.key() != "age" && it.key() != "tags" && it.key() != "pet")
      return false;
  }
  if (!v["name"].is_string()) return false;
  if (!v["age"].is_number_integer() || v["age"].get<int>() < 0 || v["age"].get<int>() > 120)
    return false;
  if (!v["tags"].is_array() || v["tags"].size() > 3) return false;
  for (const auto& t : v["tags"]) {
    if (t != "x" && t != "yy" && t != "zzz") return false;
  }
  if (v.contains("pet") && !v["pet"].is_null()) {
    const auto& p = v["pet"];
    if (!p.is_object() || p.size() != 1 ||
        (p.value("kind", "") != "cat" && p.value("kind", "") != "dog"))
      return false;
  }
  return true;
}

std::vector<int32_t> prompt(uint32_t seed, int n = 12) {
  std::mt19937 rng(seed);
  return random_tokens(rng, n, testing::tiny_model().tokenizer_vocab);
}

EngineRequest constrained(std::vector<int32_t> p, float temperature, uint64_t seed) {
  EngineRequest r;
  r.prompt_tokens = std::move(p);
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  r.max_tokens = 400;
  r.grammar = compiled(grammar::GrammarSpec::json_schema(kSchema));
  return r;
}

std::vector<StreamDelta> run(std::vector<EngineRequest> reqs, EngineConfig cfg,
                             std::unique_ptr<spec::Proposer> proposer = nullptr, int k = 0) {
  cfg.num_speculative_tokens = proposer ? k : 0;
  auto engine = make_engine(cfg, std::move(proposer));
  Result<std::vector<StreamDelta>> out = engine->generate(std::move(reqs));
  XY_CHECK_MSG(out.is_ok(), out.status().to_string().c_str());
  XY_CHECK(engine->validate_kv().is_ok());
  XY_CHECK(engine->num_used_kv_blocks() == 0);
  return *out;
}

void expect_valid(const StreamDelta& d) {
  ASSERT_TRUE(d.error.is_ok()) << d.error.to_string();
  ASSERT_EQ(d.finish_reason, FinishReason::kStop) << "[" << d.text << "]";
  nlohmann::json v;
  ASSERT_NO_THROW(v = nlohmann::json::parse(d.text)) << d.text;
  EXPECT_TRUE(valid_person(v)) << d.text;
}

TEST(EngineGrammar, GreedyAndSampledOutputsAlwaysValidate) {
  std::vector<EngineRequest> reqs;
  for (uint32_t i = 0; i < 4; ++i) reqs.push_back(constrained(prompt(i), 0.0f, i));
  for (uint32_t i = 0; i < 16; ++i) reqs.push_back(constrained(prompt(100 + i), 1.0f, 1000 + i));
  const std::vector<StreamDelta> out = run(std::move(reqs), test_engine_config(128, 16, 512));
  for (const StreamDelta& d : out) expect_valid(d);
}

TEST(EngineGrammar, OtherConstraintKinds) {
  struct Case {
    grammar::GrammarSpec spec;
    std::function<bool(const std::string&)> check;
  };
  const std::vector<Case> cases = {
      {grammar::GrammarSpec::regex("[A-Z][a-z]{2,6} [0-9]{3}"),
       [](const std::string& s) {
         return s.size() >= 7 && s.size() <= 11 && std::isupper(static_cast<unsigned char>(s[0]));
       }},
      {grammar::GrammarSpec::choice({"positive", "negative", "neutral"}),
       [](const std::string& s) { return s == "positive" || s == "negative" || s == "neutral"; }},
      {grammar::GrammarSpec::json_object(),
       [](const std::string& s) {
         try {
           return nlohmann::json::parse(s).is_object();
         } catch (...) {
           return false;
         }
       }},
      {grammar::GrammarSpec::ebnf(
           "root ::= \"(\" num (\"+\" num){0,8} \")\"\nnum ::= [1-9] [0-9]?\n"),
       [](const std::string& s) { return s.front() == '(' && s.back() == ')'; }},
  };
  for (const Case& c : cases) {
    std::vector<EngineRequest> reqs;
    for (uint32_t i = 0; i < 6; ++i) {
      EngineRequest r = constrained(prompt(200 + i), i % 2 ? 1.0f : 0.0f, 7 + i);
      r.grammar = compiled(c.spec);
      r.max_tokens = 300;
      reqs.push_back(std::move(r));
    }
    for (const StreamDelta& d : run(std::move(reqs), test_engine_config(128, 16, 512))) {
      ASSERT_TRUE(d.error.is_ok()) << d.error.to_string();
      // Free JSON can nest past any budget on random weights; then only length may cut it.
      if (d.finish_reason == FinishReason::kLength &&
          c.spec.kind == grammar::GrammarSpec::Kind::kJsonObject)
        continue;
      EXPECT_EQ(d.finish_reason, FinishReason::kStop) << c.spec.kind_name() << ": " << d.text;
      EXPECT_TRUE(c.check(d.text)) << c.spec.kind_name() << ": '" << d.text << "'";
    }
  }
}

std::vector<std::vector<int32_t>> tokens_of(const std::vector<StreamDelta>& out, size_t n) {
  std::vector<std::vector<int32_t>> t;
  for (size_t i = 0; i < n; ++i) t.push_back(out[i].token_ids);
  return t;
}

TEST(EngineGrammar, GreedyTokensIdenticalAcrossBatchesBudgetsCachingAndSpeculation) {
  std::vector<EngineRequest> constrained_reqs;
  const std::vector<int32_t> shared = prompt(77, 20);
  for (uint32_t i = 0; i < 5; ++i) {
    std::vector<int32_t> p = i % 2 ? shared : prompt(300 + i, 9 + static_cast<int>(i));
    if (i % 2) p.push_back(static_cast<int32_t>(40 + i));
    constrained_reqs.push_back(constrained(std::move(p), 0.0f, i));
  }
  // Alone, one at a time.
  std::vector<std::vector<int32_t>> alone;
  for (const EngineRequest& r : constrained_reqs)
    alone.push_back(run({r}, test_engine_config(256, 16, 512))[0].token_ids);
  for (size_t i = 0; i < alone.size(); ++i) ASSERT_GT(alone[i].size(), 4u);

  // Mixed with unconstrained requests, small budgets (chunked prefill), caching on and off.
  std::vector<EngineRequest> mixed = constrained_reqs;
  for (uint32_t i = 0; i < 6; ++i)
    mixed.push_back(testing::greedy_request(prompt(400 + i, 30), 40));
  for (int budget : {16, 37, 128}) {
    for (bool caching : {true, false}) {
      const auto out = run(mixed, test_engine_config(budget, 16, 512, caching));
      EXPECT_EQ(tokens_of(out, constrained_reqs.size()), alone)
          << "budget " << budget << " caching " << caching;
    }
  }
  // Every speculation method: chain and tree drafts.
  struct Variant {
    const char* name;
    std::function<std::unique_ptr<spec::Proposer>()> make;
    int k;
  };
  const std::vector<Variant> variants = {
      {"ngram", [] { return testing::make_ngram_proposer(1); }, 4},
      {"ngram_tree", [] { return testing::make_ngram_proposer(3); }, 6},
      {"self_draft", [] { return testing::make_draft_proposer(true); }, 4},
      {"self_draft_tree", [] { return testing::make_draft_proposer(true, 3); }, 6},
      {"draft", [] { return testing::make_draft_proposer(false); }, 3},
  };
  for (const Variant& v : variants) {
    const auto out = run(mixed, test_engine_config(64, 16, 512), v.make(), v.k);
    EXPECT_EQ(tokens_of(out, constrained_reqs.size()), alone) << v.name;
    for (size_t i = 0; i < constrained_reqs.size(); ++i) expect_valid(out[i]);
  }
}

TEST(EngineGrammar, SeededSampledTokensIdenticalWithSpeculation) {
  std::vector<EngineRequest> reqs;
  for (uint32_t i = 0; i < 6; ++i) reqs.push_back(constrained(prompt(500 + i), 1.0f, 42 + i));
  const auto off = run(reqs, test_engine_config(64, 16, 512));
  const auto on =
      run(reqs, test_engine_config(64, 16, 512), testing::make_draft_proposer(true, 2), 4);
  EXPECT_EQ(tokens_of(on, reqs.size()), tokens_of(off, reqs.size()));
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto& a = on[i].token_ids;
    const auto& b = off[i].token_ids;
    for (size_t j = 0; j < std::min(a.size(), b.size()); ++j) {
      if (a[j] != b[j]) {
        ADD_FAILURE() << "request " << i << " differs at " << j << ": " << a[j] << " vs " << b[j]
                      << " sizes " << a.size() << " " << b.size();
        break;
      }
    }
  }
  for (const StreamDelta& d : on) expect_valid(d);
}

// Jump-forward: the grammar's forced text goes out as drafts and is verified like any draft, so
// tokens are identical with it off; with it on, some forced drafts are kept.
TEST(EngineGrammar, ForcedTextDraftsChangeNoToken) {
  std::vector<EngineRequest> reqs;
  for (uint32_t i = 0; i < 6; ++i) {
    reqs.push_back(constrained(prompt(600 + i), i % 2 ? 1.0f : 0.0f, 70 + i));
    reqs.back().grammar = compiled(grammar::GrammarSpec::json_schema(
        R"({"type":"object","properties":{"description_of_the_item":{"enum":["first choice","second choice"]},)"
        R"("identifier":{"type":"integer","minimum":0,"maximum":99}},"required":["description_of_the_item","identifier"]})"));
  }
  EngineConfig off_cfg = test_engine_config(64, 16, 512);
  off_cfg.max_grammar_forced_tokens = 0;
  EngineConfig on_cfg = test_engine_config(64, 16, 512);
  auto off_engine = make_engine(off_cfg);
  auto on_engine = make_engine(on_cfg);
  Result<std::vector<StreamDelta>> off = off_engine->generate(reqs);
  Result<std::vector<StreamDelta>> on = on_engine->generate(reqs);
  ASSERT_TRUE(off.is_ok() && on.is_ok());
  EXPECT_EQ(tokens_of(*on, reqs.size()), tokens_of(*off, reqs.size()));
  for (const StreamDelta& d : *on) {
    ASSERT_EQ(d.finish_reason, FinishReason::kStop);
    const auto v = nlohmann::json::parse(d.text);
    EXPECT_TRUE(v["description_of_the_item"] == "first choice" ||
                v["description_of_the_item"] == "second choice")
        << d.text;
  }
  EXPECT_EQ(off_engine->stats().num_draft_tokens, 0);
  EXPECT_GT(on_engine->stats().num_draft_tokens, 0);
  EXPECT_GT(on_engine->stats().num_accepted_tokens, 0);
  EXPECT_LT(on_engine->stats().num_steps, off_engine->stats().num_steps);
}

TEST(EngineGrammar, IgnoreEosStillEndsWhenTheGrammarIsComplete) {
  EngineRequest r = constrained(prompt(9), 0.0f, 1);
  r.grammar = compiled(grammar::GrammarSpec::choice({"alpha", "beta"}));
  r.stop.ignore_eos = true;
  r.max_tokens = 50;
  const auto out = run({r}, test_engine_config(64, 16, 512));
  EXPECT_EQ(out[0].finish_reason, FinishReason::kStop);
  EXPECT_TRUE(out[0].text == "alpha" || out[0].text == "beta") << out[0].text;
}

TEST(EngineGrammar, GrammarForAnotherVocabularyIsRejected) {
  grammar::GrammarCompiler other(grammar::TokenVocabulary::from_bytes({"a", "b"}));
  auto g = other.compile(grammar::GrammarSpec::regex("a+"));
  ASSERT_TRUE(g.is_ok());
  EngineRequest r = constrained(prompt(1), 0.0f, 1);
  r.grammar = *g;
  auto engine = make_engine(test_engine_config());
  Result<RequestHandle> h = engine->add_request(r);
  EXPECT_EQ(h.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace xy
