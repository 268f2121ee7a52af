// Tool calls in model output: the formats models are trained to emit, found by the chat
// template (or named by --tool-call-parser), and parsed into (content, calls):
//   hermes       <tool_call>{"name": ..., "arguments": {...}}</tool_call>   (Qwen2.5/3, Hermes)
//   llama3_json  {"name": ..., "parameters": {...}} as the whole message, optionally after
//                <|python_tag|>; several calls separated by ';'          (Llama 3.1-3.3)
//   mistral      [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...] or, from v11 templates,
//                [TOOL_CALLS]name[ARGS]{...}                              (Mistral)
// Arguments are returned as JSON text (OpenAI's `function.arguments` is a string).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xy::chat {

enum class ToolCallFormat { kHermes, kLlama3Json, kMistral };

// "hermes", "llama3_json", "mistral"; nullopt for an unknown name.
std::optional<ToolCallFormat> tool_call_format_from_name(std::string_view name);
const char* tool_call_format_name(ToolCallFormat f);
// The format a chat template renders tool calls in; nullopt when it shows none.
std::optional<ToolCallFormat> detect_tool_call_format(std::string_view chat_template);

struct ToolCall {
  std::string name;
  std::string arguments;  // JSON text
};

struct ParsedToolCalls {
  std::string content;  // text outside the calls
  std::vector<ToolCall> calls;
};

// A whole message. Text that looks like a call but does not parse stays content.
ParsedToolCalls parse_tool_calls(ToolCallFormat format, std::string_view text);

// The marker text after which a message is a tool call, for streaming hold-back ("" for
// llama3_json, whose calls are recognized by their first character).
std::string_view tool_call_start_marker(ToolCallFormat format);

}  // namespace xy::chat
