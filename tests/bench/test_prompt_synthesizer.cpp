// Prompt synthesis hits exact token lengths on the real tokenizers, and hash ids give shared
// prefixes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "bench/prompt_synthesizer.h"

namespace xy::bench {
namespace {

std::string corpus() {
  static const std::string c = [] {
    auto r = load_prompt_corpus(XY_SOURCE_DIR "/data");
    EXPECT_TRUE(r) << r.status().to_string();
    // A slice keeps the sanitizer run fast; it still holds ~7k tokens of varied real text.
    return r ? r->substr(0, 30000) : std::string();
  }();
  return c;
}

// Tokenizer loads and corpus encodes are the slow part: once per tokenizer per process.
struct Loaded {
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<PromptSynthesizer> synth;
};
const Loaded& loaded(const std::string& name) {
  static std::map<std::string, Loaded> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  Loaded l;
  auto t = Tokenizer::load_dir(std::string(XY_TESTDATA_DIR "/tokenizer/") + name);
  EXPECT_TRUE(t) << t.status().to_string();
  if (t) {
    l.tok = std::move(*t);
    auto s = PromptSynthesizer::create(*l.tok, corpus());
    EXPECT_TRUE(s) << s.status().to_string();
    if (s) l.synth = std::make_unique<PromptSynthesizer>(std::move(*s));
  }
  return cache.emplace(name, std::move(l)).first->second;
}

class PromptSynthesis : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    const Loaded& l = loaded(GetParam());
    ASSERT_TRUE(l.tok && l.synth);
    tok_ = l.tok.get();
    s_ = l.synth.get();
  }
  const Tokenizer* tok_ = nullptr;
  const PromptSynthesizer* s_ = nullptr;
};

TEST_P(PromptSynthesis, ExactLengths) {
  const auto* s = s_;
  for (int n : {2, 3, 5, 17, 64, 200, 511, 513, 1500}) {
    for (uint64_t seed : {1ull, 2ull, 77ull}) {
      auto text = s->make(n, {}, seed);
      ASSERT_TRUE(text) << "n=" << n << ": " << text.status().to_string();
      auto ids = tok_->encode(*text, true);
      ASSERT_TRUE(ids);
      EXPECT_EQ(static_cast<int>(ids->size()), n) << GetParam() << " n=" << n << " seed=" << seed;
    }
  }
  // Different seeds give different text.
  EXPECT_NE(*s->make(100, {}, 1), *s->make(100, {}, 2));
}

// Many seeds at the lengths `bench serve` uses most: the decode/re-encode loop must always end
// (some seeds never settled on the make-model tokenizer before the fallback existed).
TEST_P(PromptSynthesis, ManySeedsConverge) {
  for (int n : {16, 200}) {
    for (uint64_t seed = 0; seed < 64; ++seed) {
      auto text = s_->make(n, {}, seed * 7919 + 3);
      ASSERT_TRUE(text) << GetParam() << " n=" << n << " seed=" << seed << ": "
                        << text.status().to_string();
      EXPECT_EQ(static_cast<int>(tok_->encode(*text, true)->size()), n);
    }
  }
}

TEST_P(PromptSynthesis, HashIdsShareLeadingBlocks) {
  const auto* s = s_;
  const std::vector<int64_t> a_ids = {0, 5, 9}, b_ids = {0, 5, 11}, c_ids = {3, 5, 9};
  auto a = s->make(1400, a_ids, 1), b = s->make(1300, b_ids, 2), c = s->make(1400, c_ids, 1);
  ASSERT_TRUE(a && b && c);
  auto ta = *tok_->encode(*a, true), tb = *tok_->encode(*b, true), tc = *tok_->encode(*c, true);
  EXPECT_EQ(ta.size(), 1400u);
  EXPECT_EQ(tb.size(), 1300u);
  size_t common = 0;
  while (common < std::min(ta.size(), tb.size()) && ta[common] == tb[common]) ++common;
  // Two shared 512-token blocks; a merge at the boundary may change the last few.
  EXPECT_GE(common, 2u * 512 - 8) << GetParam();
  EXPECT_LT(common, 2u * 512 + 64) << GetParam();
  size_t common_ac = 0;
  while (common_ac < ta.size() && ta[common_ac] == tc[common_ac]) ++common_ac;
  EXPECT_LT(common_ac, 16u) << "different first hash ids must give different text";
}

TEST_P(PromptSynthesis, TooShortForSpecialTokens) {
  const auto* s = s_;
  auto r = s->make(s->special_tokens(), {}, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, PromptSynthesis,
                         ::testing::Values("llama3", "qwen3", "llama2"));
// The ~1.2k-token BPE of `make-model` checkpoints: few merges, so decode/re-encode round trips
// regroup bytes far more often than with the real vocabularies.
INSTANTIATE_TEST_SUITE_P(MakeModelTokenizer, PromptSynthesis, ::testing::Values("xyserve-tiny"));
// Gemma 3's 262k-token vocabulary takes seconds to load (minutes under the sanitizers).
INSTANTIATE_TEST_SUITE_P(BigVocabLongRunning, PromptSynthesis, ::testing::Values("gemma3"));

TEST(PromptCorpus, TinyCorpusIsRejected) {
  const Loaded& l = loaded("llama2");
  ASSERT_TRUE(l.tok);
  auto s = PromptSynthesizer::create(*l.tok, "just a few words");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
}

// A corpus file: .jsonl rows' prompts joined by blank lines, anything else verbatim; the
// synthesizer cuts exact-length prompts from either, and a bad row names the file and line.
TEST(PromptCorpus, FilesAreJsonlPromptRowsOrPlainText) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("xy-corpus-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string text;
  for (int i = 0; i < 80; ++i) text += "Line " + std::to_string(i) + " of plain text, not JSON.\n";
  std::ofstream(dir / "c.txt") << text;
  std::ofstream(dir / "c.jsonl") << "{\"prompt\": \"first\"}\n\n{\"prompt\": \"second\"}\n";
  std::ofstream(dir / "bad.jsonl") << "{\"prompt\": \"ok\"}\n{\"text\": 1}\n";

  auto plain = load_prompt_corpus_file((dir / "c.txt").string());
  ASSERT_TRUE(plain) << plain.status().to_string();
  EXPECT_EQ(*plain, text);
  auto rows = load_prompt_corpus_file((dir / "c.jsonl").string());
  ASSERT_TRUE(rows) << rows.status().to_string();
  EXPECT_EQ(*rows, "first\n\nsecond");
  auto bad = load_prompt_corpus_file((dir / "bad.jsonl").string());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("bad.jsonl:2"), std::string::npos)
      << bad.status().message();

  const Loaded& l = loaded("llama2");
  ASSERT_TRUE(l.tok);
  auto from_file = make_prompt_synthesizer(*l.tok, (dir / "c.txt").string(), "/nonexistent");
  ASSERT_TRUE(from_file) << from_file.status().to_string();
  auto prompt = from_file->make(40, {}, 7);
  ASSERT_TRUE(prompt) << prompt.status().to_string();
  EXPECT_NE(text.find(prompt->substr(prompt->size() / 2, 8)), std::string::npos);  // cut from it
  auto missing =
      make_prompt_synthesizer(*l.tok, (dir / "nope.txt").string(), XY_SOURCE_DIR "/data");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("nope.txt"), std::string::npos);
  EXPECT_TRUE(make_prompt_synthesizer(*l.tok, "", XY_SOURCE_DIR "/data"));  // the shipped prompts
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xy::bench
