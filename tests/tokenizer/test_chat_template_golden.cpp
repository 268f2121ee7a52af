// Golden parity: every conversation in testdata/chat_template/*.json must render
// byte-identically to @huggingface/jinja (tools/chat-template-golden/make_golden.mjs made
// the expected strings), and every conversation that made the reference fail must fail here
// too — with the template's own message when it was a raise_exception().
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> golden_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(XY_TESTDATA_DIR) / "chat_template")) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

nlohmann::ordered_json load(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::ordered_json::parse(ss.str());
}

// Shows where two long renders first differ.
std::string first_difference(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  const size_t from = i > 40 ? i - 40 : 0;
  return "first difference at byte " + std::to_string(i) +
         "\n  want: " + nlohmann::json(want.substr(from, 100)).dump() +
         "\n  got:  " + nlohmann::json(got.substr(from, 100)).dump();
}

class ChatTemplateGolden : public testing::TestWithParam<fs::path> {};

TEST_P(ChatTemplateGolden, EveryCaseMatchesReference) {
  const nlohmann::ordered_json doc = load(GetParam());
  auto tpl = xy::ChatTemplate::parse(doc.at("template").get<std::string>());
  ASSERT_TRUE(tpl.is_ok()) << tpl.status().to_string();
  const std::time_t now = doc.at("now_epoch_seconds").get<std::time_t>();
  ASSERT_GE(doc.at("cases").size(), 20u) << "each template needs at least 20 golden conversations";
  int rendered = 0, failed_as_expected = 0;
  for (const auto& c : doc.at("cases")) {
    SCOPED_TRACE(doc.at("name").get<std::string>() + "/" + c.at("name").get<std::string>());
    xy::ChatTemplateOptions opts;
    opts.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
    opts.bos_token = c.at("bos_token").get<std::string>();
    opts.eos_token = c.at("eos_token").get<std::string>();
    opts.tools = c.at("tools");
    opts.extra_context = c.at("extra_context");
    if (!c.at("date_string").is_null())
      opts.date_string_override = c.at("date_string").get<std::string>();
    opts.clock = [now] { return now; };
    const auto out = tpl->render(c.at("messages"), opts);
    if (c.contains("expected")) {
      ASSERT_TRUE(out.is_ok()) << out.status().to_string();
      const std::string want = c.at("expected").get<std::string>();
      EXPECT_EQ(*out, want) << first_difference(want, *out);
      ++rendered;
    } else {
      ASSERT_FALSE(out.is_ok()) << "reference failed with: "
                                << c.at("expected_error").get<std::string>();
      if (c.at("error_is_raise").get<bool>()) {
        EXPECT_EQ(out.status().code(), xy::ErrorCode::kInvalidArgument);
        EXPECT_NE(out.status().message().find(c.at("expected_error").get<std::string>()),
                  std::string::npos)
            << out.status().message();
      }
      ++failed_as_expected;
    }
  }
  EXPECT_GT(rendered, 0);
  (void)failed_as_expected;
}

INSTANTIATE_TEST_SUITE_P(Templates, ChatTemplateGolden, testing::ValuesIn(golden_files()),
                         [](const testing::TestParamInfo<fs::path>& info) {
                           return info.param.stem().string();
                         });

TEST(ChatTemplateGolden, AllTargetFamiliesPresent) {
  std::vector<std::string> names;
  for (const auto& p : golden_files()) names.push_back(p.stem().string());
  for (const char* want : {"llama3", "llama3_1_instruct", "llama3_2_instruct", "qwen2_5", "qwen3",
                           "gemma3", "mistral_8x7b_instruct_v0_1", "smollm2_instruct"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
}

}  // namespace
