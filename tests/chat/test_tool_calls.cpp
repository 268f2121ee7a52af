// Tool-call formats: whole-message parsing of the hermes, llama3_json and mistral formats, the
// streaming parser against the whole-message result when the text arrives split at every
// possible byte (content never leaks a marker, calls come out whole and in order), and the
// required / named modes over grammar-shaped output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chat/tool_call_stream.h"
#include "chat/tool_calls.h"

namespace xy::chat {
namespace {

struct Collected {
  std::string content;
  std::vector<ToolCall> calls;
};

// Feeds `text` in pieces of `piece` bytes (0 = all at once) and joins the deltas.
Collected run_stream(ToolCallStream s, const std::string& text, size_t piece) {
  Collected out;
  std::vector<ToolCallDelta> deltas;
  const auto take = [&](ToolCallStreamOutput o) {
    out.content += o.content;
    deltas.insert(deltas.end(), o.calls.begin(), o.calls.end());
  };
  if (piece == 0) piece = text.size() + 1;
  for (size_t i = 0; i < text.size(); i += piece) take(s.feed(text.substr(i, piece)));
  take(s.finish());
  for (const ToolCallDelta& d : deltas) {
    if (d.header) {
      EXPECT_EQ(d.index, static_cast<int>(out.calls.size()));
      EXPECT_EQ(d.id.rfind("call_", 0), 0u);
      out.calls.push_back({d.name, d.arguments});
    } else {
      EXPECT_EQ(d.index, static_cast<int>(out.calls.size()) - 1);
      out.calls.back().arguments += d.arguments;
    }
  }
  return out;
}

void expect_same_json(const std::string& a, const std::string& b) {
  EXPECT_EQ(nlohmann::json::parse(a), nlohmann::json::parse(b)) << a << " vs " << b;
}

TEST(ToolCalls, HermesWholeMessage) {
  const std::string text =
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
      "\"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": "
      "{\"tz\": \"CET\"}}\n</tool_call>";
  ParsedToolCalls p = parse_tool_calls(ToolCallFormat::kHermes, text);
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.content, "Let me check.");
  EXPECT_EQ(p.calls[0].name, "get_weather");
  expect_same_json(p.calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(p.calls[1].name, "get_time");
  // Not a call: stays content.
  ParsedToolCalls bad =
      parse_tool_calls(ToolCallFormat::kHermes, "a <tool_call>{oops</tool_call> b");
  EXPECT_TRUE(bad.calls.empty());
  EXPECT_EQ(bad.content, "a <tool_call>{oops</tool_call> b");
}

TEST(ToolCalls, Llama3JsonWholeMessage) {
  ParsedToolCalls p = parse_tool_calls(
      ToolCallFormat::kLlama3Json,
      R"(<|python_tag|>{"name": "f", "parameters": {"x": "a;b"}}; {"name": "g", "parameters": {}})");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[0].name, "f");
  expect_same_json(p.calls[0].arguments, R"({"x":"a;b"})");
  EXPECT_EQ(p.calls[1].name, "g");
  EXPECT_TRUE(p.content.empty());
  ParsedToolCalls text = parse_tool_calls(ToolCallFormat::kLlama3Json, "The answer is {42}.");
  EXPECT_TRUE(text.calls.empty());
  EXPECT_EQ(text.content, "The answer is {42}.");
}

TEST(ToolCalls, MistralBothFormats) {
  ParsedToolCalls a = parse_tool_calls(
      ToolCallFormat::kMistral,
      R"([TOOL_CALLS][{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {"b": [2]}}])");
  ASSERT_EQ(a.calls.size(), 2u);
  expect_same_json(a.calls[1].arguments, R"({"b":[2]})");
  ParsedToolCalls b = parse_tool_calls(ToolCallFormat::kMistral,
                                       R"([TOOL_CALLS]f[ARGS]{"a": 1}[TOOL_CALLS]g[ARGS]{"b": 2})");
  ASSERT_EQ(b.calls.size(), 2u);
  EXPECT_EQ(b.calls[1].name, "g");
  expect_same_json(b.calls[1].arguments, R"({"b":2})");
}

TEST(ToolCalls, FormatFromTemplateAndName) {
  EXPECT_EQ(detect_tool_call_format("{{ '<tool_call>\\n' }}"), ToolCallFormat::kHermes);
  EXPECT_EQ(detect_tool_call_format("[TOOL_CALLS] {{ tools }}"), ToolCallFormat::kMistral);
  EXPECT_EQ(detect_tool_call_format("<|python_tag|>"), ToolCallFormat::kLlama3Json);
  EXPECT_FALSE(detect_tool_call_format("{{ messages }}").has_value());
  EXPECT_EQ(tool_call_format_from_name("llama3_json"), ToolCallFormat::kLlama3Json);
  EXPECT_FALSE(tool_call_format_from_name("xml").has_value());
}

TEST(ToolCallStream, EverySplitGivesTheWholeMessageResult) {
  struct Case {
    ToolCallFormat format;
    std::string text;
  };
  const std::vector<Case> cases = {
      {ToolCallFormat::kHermes,
       "Sure <tool_c> not a tag. <tool_call>{\"name\": \"a\", \"arguments\": {\"k\": \"</x>\"}}"
       "</tool_call> then <tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call> <tool_"},
      {ToolCallFormat::kHermes, "no calls at all <"},
      {ToolCallFormat::kMistral, "ok [TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"q\": 1}}]"},
      {ToolCallFormat::kLlama3Json, "  {\"name\": \"a\", \"parameters\": {\"q\": \"x\"}}"},
      {ToolCallFormat::kLlama3Json, "<|python_tag|>{\"name\": \"a\", \"parameters\": {}}"},
      {ToolCallFormat::kLlama3Json, "<|python\" is how it starts"},
      {ToolCallFormat::kLlama3Json, "plain {text}"},
  };
  for (const Case& c : cases) {
    const ParsedToolCalls whole = parse_tool_calls(c.format, c.text);
    for (size_t piece = 0; piece <= 7; ++piece) {
      const Collected got = run_stream(ToolCallStream::automatic(c.format), c.text, piece);
      ASSERT_EQ(got.calls.size(), whole.calls.size()) << c.text << " piece " << piece;
      for (size_t i = 0; i < got.calls.size(); ++i) {
        EXPECT_EQ(got.calls[i].name, whole.calls[i].name);
        expect_same_json(got.calls[i].arguments, whole.calls[i].arguments);
      }
      // Streamed content may keep the whitespace a whole-message parse trims.
      std::string trimmed = got.content;
      while (!trimmed.empty() && trimmed.back() == ' ') trimmed.pop_back();
      std::string expected = whole.content;
      while (!expected.empty() && expected.back() == ' ') expected.pop_back();
      if (whole.calls.empty()) {
        EXPECT_EQ(got.content, c.text) << "piece " << piece;
      } else {
        EXPECT_EQ(got.content.find("<tool_call>"), std::string::npos);
        EXPECT_EQ(got.content.find("[TOOL_CALLS]"), std::string::npos);
      }
    }
  }
}

TEST(ToolCallStream, RequiredModeSplitsTheArray) {
  const std::string text =
      R"([{"name": "get_weather", "parameters": {"city": "a}\"{b", "n": [1, {"x": 2}]}}, )"
      R"({"name":"get_time","parameters":{}}])";
  for (size_t piece = 0; piece <= 9; ++piece) {
    const Collected got = run_stream(ToolCallStream::required(), text, piece);
    ASSERT_EQ(got.calls.size(), 2u) << "piece " << piece;
    EXPECT_EQ(got.calls[0].name, "get_weather");
    expect_same_json(got.calls[0].arguments, R"({"city": "a}\"{b", "n": [1, {"x": 2}]})");
    EXPECT_EQ(got.calls[1].name, "get_time");
    EXPECT_EQ(got.calls[1].arguments, "{}");
    EXPECT_TRUE(got.content.empty());
  }
}

TEST(ToolCallStream, NamedModeStreamsTheArguments) {
  const std::string text = R"({"city": "Paris", "days": 3})";
  for (size_t piece = 0; piece <= 5; ++piece) {
    const Collected got = run_stream(ToolCallStream::named("get_weather"), text, piece);
    ASSERT_EQ(got.calls.size(), 1u);
    EXPECT_EQ(got.calls[0].name, "get_weather");
    EXPECT_EQ(got.calls[0].arguments, text);
  }
}

}  // namespace
}  // namespace xy::chat
