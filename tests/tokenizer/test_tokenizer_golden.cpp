// Golden parity against Hugging Face's own tokenizer (tokenizers.js, see
// tools/tokenizer-golden/make_golden.mjs) on the real tokenizer.json files of Llama-3, Qwen3,
// Gemma-3 and Llama-2: ids with and without special tokens, and decode with and without
// skip_special_tokens, must be identical for every golden string.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/tokenizer.h"

namespace xy {
namespace {

std::string golden_dir(const std::string& name) {
  return std::string(XY_TESTDATA_DIR) + "/tokenizer/" + name;
}

const Tokenizer& tokenizer_for(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto loaded = Tokenizer::load_dir(golden_dir(name));
    if (!loaded.is_ok()) {
      ADD_FAILURE() << loaded.status().to_string();
      std::abort();
    }
    slot = std::move(loaded).value();
  }
  return *slot;
}

nlohmann::json load_golden(const std::string& name) {
  std::ifstream in(golden_dir(name) + "/golden.json", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "]";
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, IdsAndDecodeMatchHuggingFace) {
  const std::string name = GetParam();
  const Tokenizer& tok = tokenizer_for(name);
  const nlohmann::json golden = load_golden(name);
  const auto& cases = golden["cases"];
  ASSERT_GE(cases.size(), 2000u);
  int id_mismatches = 0, id_ns_mismatches = 0, decode_mismatches = 0, skip_mismatches = 0;
  for (const auto& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const auto want = c["ids"].get<std::vector<int32_t>>();
    const auto want_ns = c["ids_no_special"].get<std::vector<int32_t>>();
    auto got = tok.encode(text, true);
    auto got_ns = tok.encode(text, false);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    ASSERT_TRUE(got_ns.is_ok()) << got_ns.status().to_string();
    if (*got != want && ++id_mismatches <= 5) {
      ADD_FAILURE() << name << " ids for " << nlohmann::json(text).dump() << "\n got  "
                    << show(*got) << "\n want " << show(want);
    }
    if (*got_ns != want_ns && ++id_ns_mismatches <= 5) {
      ADD_FAILURE() << name << " ids (no special) for " << nlohmann::json(text).dump() << "\n got  "
                    << show(*got_ns) << "\n want " << show(want_ns);
    }
    const std::string dec = tok.decode(want, false);
    if (dec != c["decoded"].get<std::string>() && ++decode_mismatches <= 5) {
      ADD_FAILURE() << name << " decode of " << show(want) << "\n got  "
                    << nlohmann::json(dec).dump() << "\n want " << c["decoded"].dump();
    }
    const std::string dec_skip = tok.decode(want, true);
    if (dec_skip != c["decoded_skip"].get<std::string>() && ++skip_mismatches <= 5) {
      ADD_FAILURE() << name << " decode(skip) of " << show(want) << "\n got  "
                    << nlohmann::json(dec_skip).dump() << "\n want " << c["decoded_skip"].dump();
    }
  }
  std::printf(
      "[golden] %s: %zu strings, mismatches: ids %d, ids_no_special %d, decode %d, "
      "decode_skip %d\n",
      name.c_str(), cases.size(), id_mismatches, id_ns_mismatches, decode_mismatches,
      skip_mismatches);
  EXPECT_EQ(id_mismatches + id_ns_mismatches + decode_mismatches + skip_mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, GoldenTest,
                         ::testing::Values("llama3", "qwen3", "gemma3", "llama2"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xy
