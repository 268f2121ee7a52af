// GGUF tokenizer metadata against the tokenizer goldens (issue 11): each real tokenizer.json of
// testdata/tokenizer is written to GGUF metadata as llama.cpp's converter lays it out
// (byte-level BPE as model "gpt2" with merges; SentencePiece-style BPE as model "llama" with
// scores and byte pieces), read back into a tokenizer.json, and must give Hugging Face's golden
// ids (with and without special tokens) for every golden string. Decodes are compared where the
// file carries what decoding needs: GGUF has no clean_up_tokenization_spaces (Llama 3's
// tokenizer_config.json turns it on; llama.cpp, like this reader, never cleans up).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_tokenizer.h"
#include "model/gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace xy {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class GgufTokenizerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufTokenizerGolden, RoundTripGivesTheGoldenIds) {
  const std::string dir = std::string(XY_TESTDATA_DIR) + "/tokenizer/" + GetParam();
  gguf::TokenizerFiles hf{read(dir + "/tokenizer.json"), read(dir + "/tokenizer_config.json")};
  const nlohmann::json tok = nlohmann::json::parse(hf.tokenizer_json);
  int vocab_size = 0;
  for (const auto& [t, id] : tok["model"]["vocab"].items())
    vocab_size = std::max(vocab_size, id.get<int>() + 1);
  for (const auto& a : tok["added_tokens"])
    vocab_size = std::max(vocab_size, a["id"].get<int>() + 1);

  gguf::Writer w;
  Status st = gguf::add_tokenizer_to_gguf(w, hf, vocab_size, dir);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  const std::vector<uint8_t> bytes = w.bytes();
  Result<gguf::File> file = gguf::parse_file(bytes.data(), bytes.size(), "t.gguf");
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  Result<std::string> model = file->get_string("tokenizer.ggml.model");
  ASSERT_TRUE(model.is_ok());
  EXPECT_EQ(*model, GetParam() == "llama2" ? "llama" : "gpt2");
  Result<gguf::TokenizerFiles> back = gguf::tokenizer_files_from_gguf(*file, "t.gguf");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  Result<std::unique_ptr<Tokenizer>> t =
      Tokenizer::load_json(back->tokenizer_json, back->tokenizer_config_json, "t.gguf");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();

  const nlohmann::json golden = nlohmann::json::parse(read(dir + "/golden.json"));
  int mismatches = 0;
  for (const auto& c : golden["cases"]) {
    const std::string text = c["text"].get<std::string>();
    Result<std::vector<int32_t>> ids = (*t)->encode(text, true);
    Result<std::vector<int32_t>> ids_ns = (*t)->encode(text, false);
    ASSERT_TRUE(ids.is_ok() && ids_ns.is_ok());
    const auto want = c["ids"].get<std::vector<int32_t>>();
    bool ok = *ids == want && *ids_ns == c["ids_no_special"].get<std::vector<int32_t>>();
    if (GetParam() != "llama3") {
      ok = ok && (*t)->decode(want, false) == c["decoded"].get<std::string>() &&
           (*t)->decode(want, true) == c["decoded_skip"].get<std::string>();
    }
    if (!ok && ++mismatches <= 5)
      ADD_FAILURE() << GetParam() << ": " << nlohmann::json(text).dump();
  }
  EXPECT_EQ(mismatches, 0) << "of " << golden["cases"].size() << " golden strings";
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, GgufTokenizerGolden,
                         ::testing::Values("llama2", "llama3", "qwen3"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xy
