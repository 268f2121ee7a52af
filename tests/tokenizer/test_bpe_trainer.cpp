#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tokenizer/bpe_trainer.h"
#include "tokenizer/builtin_corpus.h"

namespace xy {
namespace {

TEST(BpeTrainer, IsDeterministicAndWellFormed) {
  BpeTrainerOptions opts;
  opts.vocab_size = 500;
  auto a = train_byte_level_bpe(builtin_tokenizer_corpus(), opts);
  auto b = train_byte_level_bpe(builtin_tokenizer_corpus(), opts);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(a->tokenizer_json, b->tokenizer_json);
  EXPECT_EQ(a->tokenizer_config_json, b->tokenizer_config_json);
  EXPECT_EQ(static_cast<int>(a->vocab.size()), opts.vocab_size);  // enough pairs to fill 500

  // Every merge joins two tokens that exist before it, and produces the next vocab entry.
  std::set<std::string> known(a->vocab.begin(), a->vocab.begin() + 256);
  for (size_t i = 0; i < a->merges.size(); ++i) {
    const auto& [l, r] = a->merges[i];
    ASSERT_TRUE(known.count(l) && known.count(r)) << "merge " << i;
    EXPECT_EQ(a->vocab[256 + i], l + r);
    known.insert(l + r);
  }
  const auto tok = nlohmann::json::parse(a->tokenizer_json);
  EXPECT_EQ(tok["model"]["type"], "BPE");
  EXPECT_EQ(tok["model"]["vocab"].size() + tok["added_tokens"].size(), a->vocab.size());
  EXPECT_EQ(tok["added_tokens"][2]["content"], "<|im_end|>");
  EXPECT_EQ(tok["added_tokens"][2]["id"], opts.vocab_size - 1);
  const auto cfg = nlohmann::json::parse(a->tokenizer_config_json);
  EXPECT_EQ(cfg["eos_token"], "<|im_end|>");
  EXPECT_FALSE(cfg["add_bos_token"].get<bool>());
}

TEST(BpeTrainer, StopsWhenPairsRunOut) {
  BpeTrainerOptions opts;
  opts.vocab_size = 100000;
  auto r = train_byte_level_bpe("abab abab abab", opts);
  ASSERT_TRUE(r.is_ok());
  EXPECT_LT(r->vocab.size(), 300u);
}

TEST(BpeTrainer, RejectsBadOptionsAndInput) {
  BpeTrainerOptions opts;
  opts.vocab_size = 100;
  EXPECT_EQ(train_byte_level_bpe("x", opts).status().code(), ErrorCode::kInvalidArgument);
  opts = BpeTrainerOptions{};
  opts.eos_token = "</s>";
  EXPECT_EQ(train_byte_level_bpe("x", opts).status().code(), ErrorCode::kInvalidArgument);
  opts = BpeTrainerOptions{};
  EXPECT_EQ(train_byte_level_bpe(std::string("ab\xff\xfe cd"), opts).status().code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace xy
