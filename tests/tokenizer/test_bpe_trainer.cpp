#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tokenizer/bpe_trainer.h"
#include "tokenizer/builtin_corpus.h"
#include "tokenizer/chat_template.h"

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

namespace xy {
namespace {

std::string render_chatml(const char* messages, const char* tools) {
  Result<ChatTemplate> t = ChatTemplate::parse(chatml_template());
  EXPECT_TRUE(t.is_ok()) << t.status().to_string();
  ChatTemplateOptions o;
  if (tools != nullptr) o.tools = nlohmann::ordered_json::parse(tools);
  Result<std::string> text = t->render(nlohmann::ordered_json::parse(messages), o);
  EXPECT_TRUE(text.is_ok()) << text.status().to_string();
  return text.is_ok() ? *text : "";
}

// The generated models' template: plain ChatML without tools; Hermes tool calling with them.
TEST(ChatmlTemplate, PlainAndWithTools) {
  EXPECT_EQ(render_chatml(R"([{"role":"user","content":"hi"}])", nullptr),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  const std::string with_tools = render_chatml(
      R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Weather?"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
            "function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
          {"role":"tool","tool_call_id":"call_1","content":"21C"}])",
      R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}])");
  EXPECT_EQ(
      with_tools,
      "<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions to assist "
      "with the user query.\n\nYou are provided with function signatures within <tools></tools> "
      "XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
      "\"parameters\": {\"type\": \"object\"}}}\n</tools>\n\nFor each function call, return a "
      "json object with function name and arguments within <tool_call></tool_call> XML "
      "tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
      "</tool_call><|im_end|>\n"
      "<|im_start|>user\nWeather?<|im_end|>\n"
      "<|im_start|>assistant\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
      "{\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\n<tool_response>\n21C\n</tool_response><|im_end|>\n"
      "<|im_start|>assistant\n");
}

}  // namespace
}  // namespace xy
