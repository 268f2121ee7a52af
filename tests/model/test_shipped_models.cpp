// The shipped models (models/xy-target, models/xy-draft, trained by tools/train/train.py) against
// the figures the training script computed with PyTorch from the same bf16 weights
// (<model>/reference.json): validation perplexity over a fixed slice of the held-out split via
// the all-logits prefill path (what `xyserve logits` runs) within 1%, and 64 greedy tokens after
// each of five prompts through prefill + decode steps over the paged KV cache (what `xyserve
// generate --temperature 0` runs), token for token. The prompts are also encoded with xyserve's
// tokenizer, which must give the script's ids (the tokenizer files are standard HF files).
// Skips when models/ is absent (a checkout without the shipped weights).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "model/token_table_builder.h"
#include "tokenizer/tokenizer.h"

namespace xy {
namespace {

const std::string kModels = std::string(XY_SOURCE_DIR) + "/models/";
constexpr int kBlockSize = 16;

class ShippedModel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = kModels + GetParam();
    if (!std::filesystem::exists(dir_ + "/config.json")) {
      GTEST_SKIP() << dir_ << " is absent (no shipped models in this checkout)";
    }
    std::ifstream f(dir_ + "/reference.json");
    ASSERT_TRUE(f.good()) << dir_ << "/reference.json is missing";
    ref_ = nlohmann::json::parse(f);
    // Weights widened to f32 at load, f32 KV: the arithmetic of the training script's reference.
    LoadOptions load;
    load.weight_dtype = DType::kF32;
    auto model = Model::load(dir_, load);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    model_ = std::move(model).value();
  }

  // Runs `tokens` as one prefill step on a fresh cache with room for `capacity` tokens; returns
  // the logits of every row (all_logits) or of the last one.
  std::vector<float> prefill(const std::vector<int32_t>& tokens, int capacity, bool all_logits) {
    const int num_blocks = (capacity + kBlockSize - 1) / kBlockSize;
    auto cache = model_->make_kv_cache(num_blocks, kBlockSize, DType::kF32);
    EXPECT_TRUE(cache.is_ok()) << cache.status().to_string();
    cache_ = std::make_unique<KvCache>(std::move(cache).value());
    blocks_.resize(num_blocks);
    std::iota(blocks_.begin(), blocks_.end(), 0);
    return run(make_single_sequence_table(tokens, 0, blocks_, kBlockSize, all_logits));
  }

  std::vector<float> decode(int32_t token, int kv_len) {
    const int32_t one[1] = {token};
    return run(make_single_sequence_table(one, kv_len, blocks_, kBlockSize, false));
  }

  std::vector<float> run(const TokenTable& table) {
    std::vector<float> logits(table.logit_rows.size() * model_->config().vocab_size);
    const Status st = model_->forward(table, *cache_, logits.data());
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return logits;
  }

  std::string dir_;
  nlohmann::json ref_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<KvCache> cache_;
  std::vector<int32_t> blocks_;
};

// -log softmax(row)[target], in double.
double nll(const float* row, int vocab, int target) {
  const double mx = *std::max_element(row, row + vocab);
  double sum = 0.0;
  for (int i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(row[i]) - mx);
  return std::log(sum) + mx - row[target];
}

TEST_P(ShippedModel, ValidationPerplexityMatchesTrainingScript) {
  const int vocab = model_->config().vocab_size;
  double total = 0.0;
  int64_t count = 0;
  for (const auto& w : ref_.at("valid_slice").at("windows")) {
    const auto ids = w.get<std::vector<int32_t>>();
    ASSERT_GE(ids.size(), 2u);
    const std::vector<float> logits = prefill(ids, static_cast<int>(ids.size()), true);
    ASSERT_EQ(logits.size(), ids.size() * vocab);
    for (size_t t = 0; t + 1 < ids.size(); ++t) total += nll(&logits[t * vocab], vocab, ids[t + 1]);
    count += static_cast<int64_t>(ids.size()) - 1;
  }
  ASSERT_GT(count, 0);
  const double ppl = std::exp(total / count);
  const double want = ref_.at("valid_slice").at("ppl").get<double>();
  EXPECT_NEAR(ppl, want, 0.01 * want)
      << GetParam() << ": xyserve ppl " << ppl << ", script " << want;
  // Same weights, same f32 arithmetic up to summation order: far tighter than the 1% bar.
  EXPECT_NEAR(total / count, ref_.at("valid_slice").at("loss").get<double>(), 1e-3);
}

TEST_P(ShippedModel, TokenizerEncodesPromptsLikeTrainingScript) {
  auto tok = Tokenizer::load_dir(dir_);
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  for (const auto& g : ref_.at("greedy")) {
    const std::string prompt = g.at("prompt").get<std::string>();
    auto ids = (*tok)->encode(prompt, /*add_special_tokens=*/true);
    ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
    EXPECT_EQ(*ids, g.at("prompt_ids").get<std::vector<int32_t>>()) << prompt;
    const auto greedy = g.at("greedy_ids").get<std::vector<int32_t>>();
    EXPECT_EQ((*tok)->decode(greedy), g.at("greedy_text").get<std::string>()) << prompt;
  }
}

TEST_P(ShippedModel, GreedyOutputMatchesTrainingScript) {
  const int vocab = model_->config().vocab_size;
  for (const auto& g : ref_.at("greedy")) {
    const auto prompt = g.at("prompt_ids").get<std::vector<int32_t>>();
    const auto want = g.at("greedy_ids").get<std::vector<int32_t>>();
    const int n = static_cast<int>(want.size());
    std::vector<float> logits = prefill(prompt, static_cast<int>(prompt.size()) + n, false);
    std::vector<int32_t> got;
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(logits.size(), static_cast<size_t>(vocab));
      // First maximum, as torch.argmax / topk pick it.
      got.push_back(
          static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
      if (i + 1 < n) logits = decode(got.back(), static_cast<int>(prompt.size()) + i);
    }
    EXPECT_EQ(got, want) << GetParam() << ", prompt " << g.at("prompt");
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ShippedModel, ::testing::Values("xy-target", "xy-draft"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace xy
