// What a request asks of its output's shape, resolved into one grammar (or none) and the way
// the response's text turns into tool calls:
//   response_format / guided_* / structured_outputs  -> that grammar;
//   tool_choice "required"                           -> a JSON array of {"name","parameters"}
//                                                       over the tools (maxItems 1 without
//                                                       parallel_tool_calls), as vLLM does;
//   tool_choice naming a function                    -> that function's parameters schema;
//   tool_choice "auto" with tools                    -> no grammar; calls are parsed from the
//                                                       model's own format (chat/tool_calls.h).
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "chat/tool_calls.h"
#include "grammar/grammar_compiler.h"
#include "server/protocol/openai_request.h"

namespace xy::server {

struct ToolOutput {
  enum class Mode { kNone, kAuto, kRequired, kNamed };
  Mode mode = Mode::kNone;
  chat::ToolCallFormat format = chat::ToolCallFormat::kHermes;  // kAuto
  std::string name;                                             // kNamed
};

struct OutputPlan {
  std::optional<grammar::GrammarSpec> grammar;
  std::string param;  // the request field an invalid grammar is reported against
  ToolOutput tools;
};

// chat: null for /v1/completions. tool_format: the served model's tool-call format, if known.
std::variant<OutputPlan, ApiError> plan_output(const GenerationOptions& gen,
                                               const ChatCompletionRequest* chat,
                                               std::optional<chat::ToolCallFormat> tool_format);

}  // namespace xy::server
