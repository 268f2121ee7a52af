// Speculative verify segments and sliding windows through the whole model: a tree of draft
// tokens must give each node exactly the logits of the linear sequence "prefix + path to that
// node", and a windowed model must agree with itself across schedules while differing from the
// unwindowed one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "model/token_table_builder.h"
#include "test_forward_util.h"

namespace xy {
namespace {

using testing::kFixtures;

std::vector<int32_t> fixture_sequence(const std::string& model, size_t index) {
  std::ifstream in(kFixtures + model + "/tokens.json");
  return nlohmann::json::parse(in).at("sequences").at(index).get<std::vector<int32_t>>();
}

// Logits of every position of `tokens` run as one prefill from an empty cache.
std::vector<float> linear_logits(Model& model, const std::vector<int32_t>& tokens) {
  const int bs = 16;
  const int blocks = static_cast<int>((tokens.size() + bs - 1) / bs);
  auto cache = model.make_kv_cache(blocks, bs, DType::kF32);
  EXPECT_TRUE(cache.is_ok());
  std::vector<int32_t> ids(static_cast<size_t>(blocks));
  for (int i = 0; i < blocks; ++i) ids[static_cast<size_t>(i)] = blocks - 1 - i;
  const TokenTable t = make_single_sequence_table(tokens, 0, ids, bs, /*all_logits=*/true);
  std::vector<float> logits(tokens.size() * model.config().vocab_size);
  EXPECT_TRUE(model.forward(t, *cache, logits.data()).is_ok());
  return logits;
}

struct TreeCase {
  const char* model;
  KernelSet kernels;
};

class TreeVerify : public ::testing::TestWithParam<TreeCase> {};

TEST_P(TreeVerify, EveryNodeMatchesItsLinearPath) {
  LoadOptions options;
  options.kernels = GetParam().kernels;
  auto m = Model::load(kFixtures + GetParam().model, options);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  Model& model = *m.value();
  const int vocab = model.config().vocab_size;
  const std::vector<int32_t> seq = fixture_sequence(GetParam().model, 2);
  const int prefix = 23, bs = 4;

  // Tree below the cached prefix (topological order, parent index, token):
  //   0 root; 1 <- 0; 2 <- 1; 3 <- 0; 4 <- 3; 5 <- 4; 6 <- 1
  const std::vector<int> parent = {-1, 0, 1, 0, 3, 4, 1};
  const std::vector<int32_t> tokens = {seq[23], seq[24], seq[25], 7, 11, 13, 17};
  const int n = static_cast<int>(parent.size());
  std::vector<uint8_t> mask(static_cast<size_t>(n * n), 0);
  std::vector<int32_t> depth(static_cast<size_t>(n), 0);
  std::vector<std::vector<int32_t>> paths(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    if (parent[i] >= 0) depth[i] = depth[parent[i]] + 1;
    for (int a = i; a >= 0; a = parent[a]) {
      mask[static_cast<size_t>(i * n + a)] = 1;
      paths[i].insert(paths[i].begin(), tokens[a]);
    }
  }

  // Step 1: prefill the prefix. Step 2: the whole tree as one verify segment, beside a decode of
  // another sequence so the verify shares its step.
  auto cache = model.make_kv_cache(40, bs, DType::kF32);
  ASSERT_TRUE(cache.is_ok());
  const std::vector<int32_t> blocks = {9, 3, 17, 0, 25, 12, 30, 6, 1};  // 36 slots, shuffled
  const std::vector<int32_t> other_blocks = {2, 4};
  const std::vector<int32_t> other = {5, 6, 7, 8, 9};
  {
    TokenTableBuilder b(bs);
    b.add_segment(0, SegmentKind::kPrefill, std::span(seq).first(prefix), 0, blocks,
                  LogitRows::kNone);
    b.add_segment(1, SegmentKind::kPrefill, std::span(other).first(4), 0, other_blocks,
                  LogitRows::kNone);
    ASSERT_TRUE(model.forward(b.take(), *cache, nullptr).is_ok());
  }
  TokenTableBuilder b(bs);
  b.add_segment(1, SegmentKind::kDecode, std::span(other).subspan(4), 4, other_blocks,
                LogitRows::kLast);
  b.add_tree_segment(0, tokens, prefix, blocks, mask, depth, LogitRows::kAll);
  const TokenTable table = b.take();
  std::vector<float> logits(table.logit_rows.size() * vocab);
  ASSERT_TRUE(model.forward(table, *cache, logits.data()).is_ok());

  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> linear(seq.begin(), seq.begin() + prefix);
    linear.insert(linear.end(), paths[i].begin(), paths[i].end());
    const std::vector<float> expect = linear_logits(model, linear);
    const float* got = logits.data() + static_cast<size_t>(1 + i) * vocab;
    const float* want = expect.data() + (linear.size() - 1) * vocab;
    // Same keys in the same order, same positions: bitwise equal on both kernel sets (the CPU
    // meta-attention places a node's ancestors at the logical indices of the linear sequence).
    EXPECT_EQ(0, std::memcmp(got, want, vocab * sizeof(float)))
        << "tree node " << i << " (depth " << depth[i] << ")";
  }
  // The decode beside it is unaffected.
  const std::vector<float> other_expect = linear_logits(model, other);
  EXPECT_EQ(0, std::memcmp(logits.data(), other_expect.data() + 4 * vocab, vocab * sizeof(float)));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TreeVerify,
                         ::testing::Values(TreeCase{"llama_gqa", KernelSet::kReference},
                                           TreeCase{"qwen3_qknorm", KernelSet::kReference},
                                           TreeCase{"llama3_scaled", KernelSet::kReference},
                                           TreeCase{"llama_gqa", KernelSet::kCpu},
                                           TreeCase{"qwen3_qknorm", KernelSet::kCpu},
                                           TreeCase{"llama3_scaled", KernelSet::kCpu}),
                         [](const auto& info) {
                           return std::string(info.param.model) +
                                  (info.param.kernels == KernelSet::kCpu ? "_cpu" : "_ref");
                         });

TEST(SlidingWindow, ConsistentAcrossSchedulesAndActuallyApplied) {
  auto config = load_model_config(kFixtures + "mistral");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  auto load_with_window = [&](std::optional<int> window) {
    ModelConfig c = config.value();
    c.sliding_window = window;
    auto archive = SafetensorsArchive::open_dir(kFixtures + "mistral");
    EXPECT_TRUE(archive.is_ok());
    auto w = ModelWeights::load(std::move(archive.value()), c, LoadOptions{}, "mistral");
    EXPECT_TRUE(w.is_ok()) << w.status().to_string();
    auto m = Model::from_parts(c, std::move(w.value()));
    EXPECT_TRUE(m.is_ok());
    return std::move(m.value());
  };
  auto windowed = load_with_window(6);
  auto full = load_with_window(std::nullopt);
  const int vocab = windowed->config().vocab_size;
  const std::vector<int32_t> seq = fixture_sequence("mistral", 1);  // 17 tokens

  const std::vector<float> one_pass = linear_logits(*windowed, seq);
  const std::vector<float> unwindowed = linear_logits(*full, seq);
  // Rows 0..5 see at most 6 tokens, so the window changes nothing there; later rows differ.
  EXPECT_EQ(0, std::memcmp(one_pass.data(), unwindowed.data(), 6 * vocab * sizeof(float)));
  double diff = 0;
  for (size_t i = 6 * static_cast<size_t>(vocab); i < one_pass.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::abs(one_pass[i] - unwindowed[i])));
  }
  EXPECT_GT(diff, 1e-3);

  // Token-by-token decode with the window gives the same rows bit for bit.
  auto cache = windowed->make_kv_cache(5, 4, DType::kF32);
  ASSERT_TRUE(cache.is_ok());
  const std::vector<int32_t> blocks = {4, 0, 3, 1, 2};
  for (size_t t = 0; t < seq.size(); ++t) {
    const TokenTable table = make_single_sequence_table(std::span(seq).subspan(t, 1),
                                                        static_cast<int>(t), blocks, 4, false);
    std::vector<float> logits(static_cast<size_t>(vocab));
    ASSERT_TRUE(windowed->forward(table, *cache, logits.data()).is_ok());
    EXPECT_EQ(0, std::memcmp(logits.data(), one_pass.data() + t * vocab, vocab * sizeof(float)))
        << "position " << t;
  }
}

}  // namespace
}  // namespace xy
