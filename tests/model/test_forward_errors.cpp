// Expected failures of loading and running a model: broken checkpoints and malformed Token-Tables
// come back as precise Status values, and a rejected step writes neither logits nor KV.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "model/model.h"
#include "model/token_table_builder.h"
#include "test_forward_util.h"

namespace xy {
namespace {

using testing::EditableTensor;
using testing::kFixtures;
using testing::ScratchDir;
using testing::write_edited_fixture;

void erase_tensor(std::vector<EditableTensor>& ts, const std::string& name) {
  const auto it = std::find_if(ts.begin(), ts.end(), [&](const auto& t) { return t.name == name; });
  ASSERT_NE(it, ts.end()) << name;
  ts.erase(it);
}

EditableTensor& tensor(std::vector<EditableTensor>& ts, const std::string& name) {
  return *std::find_if(ts.begin(), ts.end(), [&](const auto& t) { return t.name == name; });
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(ModelLoadErrors, MissingTensorIsNamed) {
  struct Case {
    const char* model;
    const char* tensor;
  };
  for (const Case c :
       {Case{"llama_gqa", "model.layers.1.mlp.up_proj.weight"}, Case{"llama_gqa", "lm_head.weight"},
        Case{"qwen2_bias", "model.layers.0.self_attn.k_proj.bias"},
        Case{"qwen3_qknorm", "model.layers.1.self_attn.q_norm.weight"},
        Case{"mistral", "model.norm.weight"}, Case{"llama3_scaled", "model.embed_tokens.weight"}}) {
    ScratchDir dir;
    ASSERT_TRUE(
        write_edited_fixture(c.model, dir.path(), [&](auto& ts) { erase_tensor(ts, c.tensor); }));
    auto m = Model::load(dir.path());
    ASSERT_FALSE(m.is_ok()) << c.tensor;
    EXPECT_EQ(m.status().code(), ErrorCode::kNotFound);
    EXPECT_TRUE(contains(m.status().message(), std::string("'") + c.tensor + "'"))
        << m.status().message();
    EXPECT_TRUE(contains(m.status().message(), dir.path())) << m.status().message();
  }
}

TEST(ModelLoadErrors, WrongShapeNamesFileTensorAndBothShapes) {
  ScratchDir dir;
  ASSERT_TRUE(write_edited_fixture("llama_gqa", dir.path(), [](auto& ts) {
    EditableTensor& q = tensor(ts, "model.layers.0.self_attn.q_proj.weight");  // [128, 128]
    q.shape = {64, 128};
    q.bytes.resize(64 * 128 * 4);
  }));
  auto m = Model::load(dir.path());
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kFormatError);
  const std::string msg = m.status().message();  // status() returns by value
  EXPECT_TRUE(contains(msg, "model.safetensors")) << msg;
  EXPECT_TRUE(contains(msg, "'model.layers.0.self_attn.q_proj.weight'")) << msg;
  EXPECT_TRUE(contains(msg, "[64, 128]")) << msg;
  EXPECT_TRUE(contains(msg, "expected [128, 128]")) << msg;
}

TEST(ModelLoadErrors, WrongRankOfANormWeight) {
  ScratchDir dir;
  ASSERT_TRUE(write_edited_fixture("qwen3_qknorm", dir.path(), [](auto& ts) {
    tensor(ts, "model.layers.1.self_attn.k_norm.weight").shape = {1, 64};
  }));
  auto m = Model::load(dir.path());
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kFormatError);
  EXPECT_TRUE(contains(m.status().message(), "k_norm.weight")) << m.status().message();
  EXPECT_TRUE(contains(m.status().message(), "expected [64]")) << m.status().message();
}

TEST(ModelLoadErrors, MissingDirectoryAndCheckpoint) {
  auto none = Model::load("/nonexistent/xyserve-model");
  ASSERT_FALSE(none.is_ok());
  EXPECT_TRUE(contains(none.status().message(), "/nonexistent/xyserve-model"))
      << none.status().message();

  ScratchDir dir;  // config.json but no weights
  std::filesystem::copy_file(kFixtures + "llama_gqa/config.json", dir.path() + "/config.json");
  auto no_weights = Model::load(dir.path());
  ASSERT_FALSE(no_weights.is_ok());
  EXPECT_TRUE(contains(no_weights.status().message(), "model.safetensors"))
      << no_weights.status().message();
}

TEST(ModelLoadErrors, ExtraTensorsAreIgnored) {
  ScratchDir dir;
  ASSERT_TRUE(write_edited_fixture("llama_gqa", dir.path(), [](auto& ts) {
    ts.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq",
                  DType::kF32,
                  {16},
                  std::vector<uint8_t>(64, 0)});
  }));
  auto m = Model::load(dir.path());
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
}

// A model and cache for the table tests: llama_gqa (vocab 512), 8 blocks of 4 tokens.
class TableErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::load(kFixtures + "llama_gqa");
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    model_ = std::move(m.value());
    auto c = model_->make_kv_cache(8, 4, DType::kF32);
    ASSERT_TRUE(c.is_ok()) << c.status().to_string();
    cache_ = std::make_unique<KvCache>(std::move(c.value()));
  }

  // A valid two-segment table: a 6-token prefill on blocks {5, 2} and a decode after 9 cached
  // tokens on blocks {0, 7, 3}.
  TokenTable valid_table() const {
    TokenTableBuilder b(4);
    const std::vector<int32_t> prompt = {3, 1, 4, 1, 5, 9};
    const std::vector<int32_t> blocks_a = {5, 2}, blocks_b = {0, 7, 3};
    const std::vector<int32_t> next = {26};
    b.add_segment(0, SegmentKind::kPrefill, prompt, 0, blocks_a, LogitRows::kLast);
    b.add_segment(1, SegmentKind::kDecode, next, 9, blocks_b, LogitRows::kLast);
    return b.take();
  }

  // Runs a table that must be rejected and checks nothing was written.
  void expect_rejected(const TokenTable& t, const std::string& message_part) {
    std::vector<float> logits(4 * 512, 42.0f);
    const Status st = model_->forward(t, *cache_, logits.data());
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.to_string();
    EXPECT_TRUE(contains(st.message(), message_part)) << st.message();
    EXPECT_TRUE(std::all_of(logits.begin(), logits.end(), [](float x) { return x == 42.0f; }));
    for (int l = 0; l < model_->config().num_hidden_layers; ++l) {
      const ref::PagedKvLayer kv = cache_->layer(l);
      const size_t bytes = static_cast<size_t>(kv.num_slots()) * kv.n_kv_heads * kv.head_dim * 4;
      const auto* k = static_cast<const uint8_t*>(kv.k);
      EXPECT_TRUE(std::all_of(k, k + bytes, [](uint8_t x) { return x == 0; })) << "layer " << l;
    }
  }

  std::unique_ptr<Model> model_;
  std::unique_ptr<KvCache> cache_;
};

TEST_F(TableErrors, ValidTableRuns) {
  std::vector<float> logits(2 * 512);
  EXPECT_TRUE(model_->forward(valid_table(), *cache_, logits.data()).is_ok());
}

TEST_F(TableErrors, BlockTableTooShort) {
  TokenTable t = valid_table();
  t.segments[1].num_blocks = 2;  // 9 cached + 1 new tokens need 3 blocks of 4
  expect_rejected(t, "cannot hold kv_len 9 + 1 tokens");
}

TEST_F(TableErrors, BlockTableOutsideArray) {
  TokenTable t = valid_table();
  t.segments[1].block_table_offset = 4;
  expect_rejected(t, "lies outside block_tables");
}

TEST_F(TableErrors, BlockIdNotInCache) {
  TokenTable t = valid_table();
  t.block_tables[3] = 8;
  expect_rejected(t, "is not a block of the cache");
}

TEST_F(TableErrors, TokenIdOutsideVocabulary) {
  TokenTable t = valid_table();
  t.token_ids[2] = 512;
  expect_rejected(t, "row 2 has token id 512 outside the vocabulary");
  t.token_ids[2] = -1;
  expect_rejected(t, "token id -1");
}

TEST_F(TableErrors, SlotDisagreesWithBlockTable) {
  TokenTable t = valid_table();
  t.slot_mapping[6] = 5;  // the decode token belongs at block 3, offset 1 = slot 13
  expect_rejected(t, "row 6 (segment 1, token 0) has slot 5");
}

TEST_F(TableErrors, SegmentsMustCoverRowsInOrder) {
  TokenTable gap = valid_table();
  gap.segments[1].start = 7;
  expect_rejected(gap, "segment 1 starts at row 7, expected 6");
  TokenTable uncovered = valid_table();
  uncovered.segments.pop_back();
  expect_rejected(uncovered, "segments cover 6 of 7 rows");
  TokenTable empty_segment = valid_table();
  empty_segment.segments[0].num_tokens = 0;
  expect_rejected(empty_segment, "has no tokens");
}

TEST_F(TableErrors, ArraysOfDifferentLengths) {
  TokenTable t = valid_table();
  t.positions.pop_back();
  expect_rejected(t, "7 token ids but 6 positions");
}

TEST_F(TableErrors, LogitRowOutOfRange) {
  TokenTable t = valid_table();
  t.logit_rows.push_back(7);
  expect_rejected(t, "logit_rows[2] = 7 is not a row");
}

TEST_F(TableErrors, SpecMaskOutOfRangeOrBlind) {
  TokenTable t = valid_table();
  t.segments[0].spec_mask_offset = 0;
  t.spec_masks.assign(20, 1);  // needs 36
  expect_rejected(t, "lies outside spec_masks");
  t.spec_masks.assign(36, 1);
  t.spec_masks[3 * 6 + 3] = 0;
  expect_rejected(t, "spec mask row 3 does not let the token see itself");
}

TEST_F(TableErrors, CacheOfAnotherModel) {
  auto other = KvCache::create(KvCacheShape{2, 8, 4, 1, 32, DType::kF32});
  ASSERT_TRUE(other.is_ok());
  std::vector<float> logits(2 * 512);
  const Status st = model_->forward(valid_table(), *other, logits.data());
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(st.message(), "does not fit the model")) << st.message();
}

}  // namespace
}  // namespace xy
