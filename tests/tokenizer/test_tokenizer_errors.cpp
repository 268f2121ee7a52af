// Malformed tokenizer.json / tokenizer_config.json and bad input give precise errors (code and
// message naming the file, JSON path and offending value), never a crash.
#include <gtest/gtest.h>

#include <string>

#include "tokenizer/tokenizer.h"

namespace xy {
namespace {

// A tiny valid byte-level BPE tokenizer; tests break one piece of it at a time.
std::string tokenizer_json(const std::string& model, const std::string& pre_tokenizer = "null",
                           const std::string& extra = "") {
  return R"({"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": )" +
         pre_tokenizer + R"(, "post_processor": null, "decoder": null)" + extra + R"(, "model": )" +
         model + "}";
}
const std::string kModel =
    R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

Status load_error(const std::string& json, const std::string& config = "") {
  auto t = Tokenizer::load_json(json, config, "models/x");
  return t.status();
}

void expect_error(const Status& s, ErrorCode code, const std::vector<std::string>& needles) {
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), code) << s.to_string();
  for (const auto& n : needles) EXPECT_NE(s.message().find(n), std::string::npos) << s.to_string();
}

TEST(TokenizerErrors, ValidBaselineLoads) {
  auto t = Tokenizer::load_json(tokenizer_json(kModel), "", "models/x");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(*(*t)->encode("abab"), (std::vector<int32_t>{2, 2}));
}

TEST(TokenizerErrors, NotJson) {
  expect_error(load_error("{\"model\": "), ErrorCode::kFormatError,
               {"models/x/tokenizer.json", "not valid JSON"});
  expect_error(load_error("[1, 2]"), ErrorCode::kFormatError, {"expected a JSON object"});
}

TEST(TokenizerErrors, MissingModel) {
  expect_error(load_error(R"({"added_tokens": []})"), ErrorCode::kFormatError,
               {"models/x/tokenizer.json", "model: missing"});
}

TEST(TokenizerErrors, UnknownModelType) {
  expect_error(load_error(tokenizer_json(R"({"type": "Unigram", "vocab": []})")),
               ErrorCode::kUnsupported, {"model.type 'Unigram'"});
}

TEST(TokenizerErrors, UnknownPreTokenizerType) {
  expect_error(load_error(tokenizer_json(
                   kModel, R"({"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"},
                              {"type": "FancySplit"}]})")),
               ErrorCode::kUnsupported, {"pre_tokenizer.pretokenizers[1]", "'FancySplit'"});
}

TEST(TokenizerErrors, MergeWithUnknownToken) {
  expect_error(
      load_error(tokenizer_json(
          R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a zz"]})")),
      ErrorCode::kFormatError, {"model.merges[1]", "'zz'", "not in the vocabulary"});
  expect_error(load_error(tokenizer_json(
                   R"({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]})")),
               ErrorCode::kFormatError, {"model.merges[0]", "merged token 'ab'"});
  expect_error(load_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]})")),
               ErrorCode::kFormatError, {"model.merges[0]", "two tokens"});
}

TEST(TokenizerErrors, BadVocab) {
  expect_error(load_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": "x"}, "merges": []})")),
               ErrorCode::kFormatError, {"model.vocab['a']", "integer"});
  expect_error(load_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": -4}, "merges": []})")),
               ErrorCode::kFormatError, {"model.vocab['a']", "out of range"});
}

TEST(TokenizerErrors, BadRegex) {
  expect_error(
      load_error(tokenizer_json(
          kModel, R"({"type": "Split", "pattern": {"Regex": "(ab"}, "behavior": "Isolated"})")),
      ErrorCode::kFormatError, {"pre_tokenizer.pattern.Regex", "invalid regex '(ab'"});
  expect_error(
      load_error(tokenizer_json(
          kModel, R"({"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"})")),
      ErrorCode::kFormatError, {"pre_tokenizer.behavior", "'Sideways'"});
}

TEST(TokenizerErrors, BadComponents) {
  expect_error(load_error(R"({"model": )" + kModel + R"(, "decoder": {"type": "CTC"}})"),
               ErrorCode::kUnsupported, {"decoder", "'CTC'"});
  expect_error(
      load_error(R"({"model": )" + kModel + R"(, "normalizer": {"type": "BertNormalizer"}})"),
      ErrorCode::kUnsupported, {"normalizer", "'BertNormalizer'"});
  expect_error(
      load_error(
          R"({"model": )" + kModel +
          R"(, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}], "special_tokens": {}}})"),
      ErrorCode::kFormatError, {"post_processor.single[0]", "'<s>'"});
  expect_error(load_error(R"({"model": )" + kModel + R"(, "added_tokens": [{"id": 5}]})"),
               ErrorCode::kFormatError, {"added_tokens[0].content"});
  expect_error(load_error(R"({"model": )" + kModel + R"(, "pre_tokenizer": {"kind": 1}})"),
               ErrorCode::kFormatError, {"pre_tokenizer.type: missing"});
}

TEST(TokenizerErrors, BadConfig) {
  expect_error(load_error(tokenizer_json(kModel), "{oops"), ErrorCode::kFormatError,
               {"models/x/tokenizer_config.json", "not valid JSON"});
  expect_error(load_error(tokenizer_json(kModel), R"({"bos_token": 3})"), ErrorCode::kFormatError,
               {"tokenizer_config.json.bos_token"});
  expect_error(load_error(tokenizer_json(kModel), R"({"chat_template": [{"name": "x"}]})"),
               ErrorCode::kFormatError, {"chat_template[0].template"});
}

TEST(TokenizerErrors, MissingDirectory) {
  auto t = Tokenizer::load_dir("/nonexistent/model");
  expect_error(t.status(), ErrorCode::kNotFound, {"/nonexistent/model/tokenizer.json"});
}

TEST(TokenizerErrors, InvalidUtf8InputIsRejectedWithItsOffset) {
  auto t = Tokenizer::load_json(tokenizer_json(kModel), "", "models/x");
  ASSERT_TRUE(t.is_ok());
  for (const auto& [text, offset] :
       std::vector<std::pair<std::string, int>>{{"ab\xC3", 2},
                                                {"\xFF", 0},
                                                {"a\xED\xA0\x80", 1},
                                                {"ab\xC0\xAF", 2},
                                                {"aaa\xF4\x90\x80\x80", 3}}) {
    auto r = (*t)->encode(text);
    expect_error(r.status(), ErrorCode::kInvalidArgument, {"at byte " + std::to_string(offset)});
  }
}

TEST(TokenizerErrors, MissingUnkTokenIsReportedWhenNeeded) {
  auto t = Tokenizer::load_json(
      tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"})"),
      "", "models/x");
  ASSERT_TRUE(t.is_ok());
  EXPECT_TRUE((*t)->encode("aaa").is_ok());
  expect_error((*t)->encode("ab").status(), ErrorCode::kFormatError, {"unk_token '<unk>'"});
}

}  // namespace
}  // namespace xy
