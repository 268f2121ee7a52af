// Components the four golden tokenizers do not exercise, on small hand-built tokenizer.json
// files whose expected output follows from Hugging Face's documented semantics: split
// behaviors, Metaspace, TemplateProcessing with bos+eos, add_bos_token from the config,
// added-token lstrip/rstrip/single_word/normalized, unk fusing, subword prefix/suffix, Lowercase,
// NFKC, Strip, Digits, Punctuation, decoders.
#include <gtest/gtest.h>

#include <string>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/streaming_detokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_normalization.h"
#include "tokenizer/utf8.h"

namespace xy {
namespace {

std::unique_ptr<Tokenizer> load(const std::string& json, const std::string& config = "") {
  auto t = Tokenizer::load_json(json, config, "test");
  EXPECT_TRUE(t.is_ok()) << t.status().to_string();
  if (!t.is_ok()) return nullptr;
  return std::move(t).value();
}

std::vector<int32_t> enc(const Tokenizer& t, const std::string& text, bool special = true) {
  auto r = t.encode(text, special);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : std::vector<int32_t>{};
}

// Hugging Face's documented example for SplitDelimiterBehavior on "the-final--countdown".
TEST(SplitBehavior, MatchesHuggingFaceDocumentation) {
  const std::string text = "the-final--countdown";
  std::vector<std::pair<size_t, size_t>> dashes;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') dashes.emplace_back(i, i + 1);
  }
  const auto pieces = [&](SplitBehavior b, bool invert = false) {
    std::vector<std::string> out;
    for (auto [s, e] : split_by_matches(text.size(), dashes, b, invert))
      out.push_back(text.substr(s, e - s));
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(SplitBehavior::kRemoved), (V{"the", "final", "countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kIsolated), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kMergedWithPrevious), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kMergedWithNext), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kContiguous), (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kRemoved, true), (V{"-", "-", "-"}));
}

// Byte-level vocabulary of single characters plus a few merges.
std::string char_vocab_model(const std::string& extra_vocab, const std::string& merges,
                             const std::string& options = "") {
  std::string vocab = R"({"<unk>": 0, "<s>": 1, "</s>": 2)";
  int id = 3;
  for (const char* c : {"a", "b", "c", "d", "e", "h", "l", "o", "w", "r", "1", "2", "!", ".",
                        "\xE2\x96\x81", " "}) {
    vocab += ", \"" + std::string(c) + "\": " + std::to_string(id++);
  }
  vocab += extra_vocab + "}";
  return R"({"type": "BPE", "unk_token": "<unk>", "vocab": )" + vocab + R"(, "merges": )" + merges +
         options + "}";
}

TEST(Components, TemplateProcessingBosAndEos) {
  const std::string json = R"({"added_tokens": [{"id": 1, "content": "<s>", "special": true},
      {"id": 2, "content": "</s>", "special": true}],
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]},
                         "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
    "model": )" + char_vocab_model("", "[]") +
                           "}";
  auto t = load(json);
  ASSERT_TRUE(t);
  EXPECT_EQ(enc(*t, "ab"), (std::vector<int32_t>{1, 3, 4, 2}));
  EXPECT_EQ(enc(*t, "ab", false), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(enc(*t, ""), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(t->decode(std::vector<int32_t>{1, 3, 4, 2}, true), "a b");  // no decoder: ' '-joined
}

TEST(Components, ConfigAddBosWhenPostProcessorAddsNothing) {
  const std::string json = R"({"added_tokens": [{"id": 1, "content": "<s>", "special": true},
      {"id": 2, "content": "</s>", "special": true}], "model": )" +
                           char_vocab_model("", "[]") + "}";
  auto t = load(json, R"({"bos_token": {"content": "<s>", "__type": "AddedToken"},
                          "eos_token": "</s>", "add_bos_token": true, "add_eos_token": true,
                          "chat_template": [{"name": "default", "template": "T1"},
                                            {"name": "tool_use", "template": "T2"}]})");
  ASSERT_TRUE(t);
  EXPECT_EQ(enc(*t, "a"), (std::vector<int32_t>{1, 3, 2}));
  EXPECT_EQ(enc(*t, "a", false), (std::vector<int32_t>{3}));
  EXPECT_EQ(t->bos_id(), 1);
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_EQ(t->bos_token(), "<s>");
  EXPECT_EQ(t->chat_template(), "T1");
  EXPECT_EQ(t->chat_template("tool_use"), "T2");
  EXPECT_FALSE(t->chat_template("missing").has_value());
}

TEST(Components, MetaspacePreTokenizerAndDecoder) {
  const std::string json = R"({"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
      "prepend_scheme": "always", "split": true},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
    "model": )" + char_vocab_model(R"(, "▁a": 20, "▁ab": 21)", R"(["▁ a", "▁a b"])") +
                           "}";
  auto t = load(json);
  ASSERT_TRUE(t);
  // "ab ab" -> "▁ab▁ab" -> split before each ▁ -> [▁ab, ▁ab]
  EXPECT_EQ(enc(*t, "ab ab"), (std::vector<int32_t>{21, 21}));
  // "a  b" -> "▁a▁▁b" -> [▁a, ▁, ▁b]; "▁b" has no merge.
  EXPECT_EQ(enc(*t, "a  b"), (std::vector<int32_t>{20, 17, 17, 4}));
  EXPECT_EQ(t->decode(enc(*t, "ab ab")), "ab ab");
}

TEST(Components, AddedTokenStripAndSingleWordAndNormalized) {
  const std::string json = R"({"added_tokens": [
      {"id": 30, "content": "<m>", "special": true, "lstrip": true, "rstrip": true},
      {"id": 31, "content": "ab", "special": false, "single_word": true, "normalized": false},
      {"id": 32, "content": "hello", "special": false, "normalized": true}],
    "normalizer": {"type": "Lowercase"},
    "model": )" + char_vocab_model(R"(, "<m>": 30, "ab": 31, "hello": 32)", "[]") +
                           "}";
  auto t = load(json);
  ASSERT_TRUE(t);
  // lstrip/rstrip swallow the spaces around <m>.
  EXPECT_EQ(enc(*t, "a  <m>  b"), (std::vector<int32_t>{3, 30, 4}));
  // single_word: "ab" only as a whole word.
  EXPECT_EQ(enc(*t, "ab"), (std::vector<int32_t>{31}));
  EXPECT_EQ(enc(*t, "cab"), (std::vector<int32_t>{5, 3, 4}));
  // normalized token: matched after Lowercase.
  EXPECT_EQ(enc(*t, "HeLLo"), (std::vector<int32_t>{32}));
  EXPECT_TRUE(t->is_special(30));
  EXPECT_FALSE(t->is_special(31));
  EXPECT_EQ(t->decode(std::vector<int32_t>{3, 30, 4}, true), "a b");
}

TEST(Components, UnkFusingAndByteFallback) {
  const std::string base = char_vocab_model("", "[]", R"(, "fuse_unk": true)");
  auto t = load(R"({"model": )" + base + "}");
  ASSERT_TRUE(t);
  EXPECT_EQ(enc(*t, "aXYZb"), (std::vector<int32_t>{3, 0, 4}));  // XYZ fused into one <unk>
  auto unfused = load(R"({"model": )" + char_vocab_model("", "[]") + "}");
  EXPECT_EQ(enc(*unfused, "aXYb"), (std::vector<int32_t>{3, 0, 0, 4}));
  auto fallback = load(
      R"({"decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
      "model": )" +
      char_vocab_model(R"(, "<0xC3>": 40, "<0xA9>": 41)", "[]", R"(, "byte_fallback": true)") +
      "}");
  EXPECT_EQ(enc(*fallback, "a\xC3\xA9"), (std::vector<int32_t>{3, 40, 41}));
  EXPECT_EQ(enc(*fallback, "\xE2\x82\xAC"), (std::vector<int32_t>{0}));  // no <0xE2>: unk
  EXPECT_EQ(fallback->decode(std::vector<int32_t>{3, 40, 41}), "a\xC3\xA9");
  EXPECT_EQ(fallback->decode(std::vector<int32_t>{40, 3}),
            "\xEF\xBF\xBD"
            "a");  // broken byte
}

TEST(Components, SubwordPrefixAndSuffix) {
  const std::string json = R"({"model": {"type": "BPE", "continuing_subword_prefix": "##",
      "end_of_word_suffix": "</w>", "vocab": {"a": 0, "##b": 1, "##c</w>": 2, "a##b": 9, "ab": 3,
      "ab##c</w>": 4, "abc</w>": 5, "b": 6}, "merges": ["a ##b", "ab ##c</w>"]}})";
  auto t = load(json);
  ASSERT_TRUE(t);
  EXPECT_EQ(enc(*t, "abc"), (std::vector<int32_t>{5}));
}

TEST(Components, NormalizersAndPreTokenizers) {
  const std::string json = R"({"normalizer": {"type": "Sequence", "normalizers": [
      {"type": "NFKC"}, {"type": "Strip", "strip_left": true, "strip_right": true},
      {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
      {"type": "Digits", "individual_digits": true}, {"type": "Punctuation"}]},
    "model": )" + char_vocab_model(R"(, "ab": 22, "12": 23)", R"(["a b", "1 2"])") +
                           "}";
  auto t = load(json);
  ASSERT_TRUE(t);
  // NFKC folds the fullwidth "ａ"; digits stay split; "!" and "." are isolated.
  EXPECT_EQ(enc(*t,
                "  \xEF\xBD\x81"
                "b\t\n12!. "),
            (std::vector<int32_t>{22, 13, 14, 15, 16}));
}

TEST(Components, ByteLevelPreTokenizerWithPrefixSpace) {
  const std::string json = R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true,
      "use_regex": true}, "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"Ġ": 0, "h": 1, "i": 2, "Ġh": 3, "Ġhi": 4, "!": 5, "Ċ": 6},
      "merges": ["Ġ h", "Ġh i"]}})";
  auto t = load(json);
  ASSERT_TRUE(t);
  EXPECT_EQ(enc(*t, "hi hi!\n"), (std::vector<int32_t>{4, 4, 5, 6}));
  EXPECT_EQ(t->decode(std::vector<int32_t>{4, 4, 5, 6}), " hi hi!\n");
}

// Reference values computed with Python's unicodedata.normalize.
TEST(UnicodeNormalization, KnownForms) {
  EXPECT_EQ(normalize_unicode("e\xCC\x81", NormalizationForm::kNFC), "\xC3\xA9");
  EXPECT_EQ(normalize_unicode("\xC3\xA9", NormalizationForm::kNFD), "e\xCC\x81");
  // Hangul: conjoining jamo compose to 각 (U+AC01) and decompose back.
  EXPECT_EQ(normalize_unicode("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", NormalizationForm::kNFC),
            "\xEA\xB0\x81");
  EXPECT_EQ(normalize_unicode("\xEA\xB0\x81", NormalizationForm::kNFD),
            "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8");
  // Canonical reordering: q + dot below (220) + horn (216) -> horn first; ordering is by class.
  EXPECT_EQ(normalize_unicode("q\xCC\xA3\xCC\x9B", NormalizationForm::kNFC), "q\xCC\x9B\xCC\xA3");
  // Compatibility ligature; ANGSTROM SIGN is a canonical singleton (U+212B -> U+00C5).
  EXPECT_EQ(normalize_unicode("\xEF\xAC\x81", NormalizationForm::kNFKC), "fi");
  EXPECT_EQ(normalize_unicode("\xE2\x84\xAB", NormalizationForm::kNFC), "\xC3\x85");
  EXPECT_EQ(normalize_unicode("\xE2\x91\xA0", NormalizationForm::kNFKD), "1");
  EXPECT_EQ(lowercase_unicode("ÀB\xC4\xB0Σ"), "àbi\xCC\x87σ");
}

TEST(Utf8, LossyMatchesMaximalSubpartRule) {
  // Unicode 15 §3.9, Table 3-8 example: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
  const std::string in = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::lossy(in), "a" + r + r + r + "b" + r + "c" + r + r + "d");
  EXPECT_EQ(utf8::lossy("\xED\xA0\x80"), r + r + r);  // surrogate: three subparts
  EXPECT_EQ(utf8::lossy("ok \xF0\x9F\x98"), "ok " + r);
}

}  // namespace
}  // namespace xy

namespace xy {
namespace {

// Regression (found by fuzz_tokenizer_json): a Strip decoder removing more than one leading
// space makes window decoding inexact; the streamer must fall back to full re-decoding and still
// reproduce decode() exactly, for every id sequence over a small vocabulary.
TEST(Components, StreamingWithWideStartStripMatchesDecode) {
  const std::string json = R"({"decoder": {"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "Fuse"},
      {"type": "Strip", "content": " ", "start": 2, "stop": 0}]},
    "model": {"type": "BPE", "vocab": {"\u2581": 0, "a": 1, "\u2581a": 2, "\u2581\u2581": 3},
      "merges": []}})";
  auto t = load(json);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->decoder_window_safe());
  for (int code = 0; code < 4 * 4 * 4 * 4 * 4; ++code) {
    std::vector<int32_t> ids;
    for (int c = code, k = 0; k < 5; ++k, c /= 4) ids.push_back(c % 4);
    StreamingDetokenizer s(*t);
    std::string out;
    for (int32_t id : ids) out += s.push(id);
    out += s.finish();
    ASSERT_EQ(out, t->decode(ids)) << "code " << code;
  }
}

}  // namespace
}  // namespace xy
