// JSON shapes of OpenAI responses that differ between endpoints: usage, finish reasons and the
// two logprobs layouts (completions: parallel arrays; chat: a list of token objects).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/tool_call_stream.h"
#include "engine/output_stream.h"

namespace xy {
class Tokenizer;
}

namespace xy::server {

// {"prompt_tokens","completion_tokens","total_tokens","prompt_tokens_details":{"cached_tokens"}}
nlohmann::json usage_json(int prompt_tokens, int completion_tokens, int cached_tokens);

// "stop" / "length"; an aborted request never reaches a client as a finish reason.
nlohmann::json finish_reason_json(FinishReason reason);

// vLLM's stop_reason: the matched stop string or stop token id, else null.
nlohmann::json stop_reason_json(const StreamDelta& final_delta);

// The text of one token as logprobs report it (decode of that id alone).
std::string token_text(const Tokenizer& tok, int32_t id);

// Chat: [{"token","logprob","bytes":[..],"top_logprobs":[{"token","logprob","bytes"}]}]
nlohmann::json chat_logprobs_content(const Tokenizer& tok, const std::vector<TokenLogprobs>& lps);

// Completions: {"tokens":[..],"token_logprobs":[..],"top_logprobs":[{tok:lp}],"text_offset":[..]}.
// text_offset starts at `offset` (bytes of text before these tokens in the choice).
nlohmann::json completion_logprobs(const Tokenizer& tok, const std::vector<TokenLogprobs>& lps,
                                   size_t offset);

// Streaming: delta.tool_calls entries, consecutive fragments of one call merged:
// [{"index","id","type":"function","function":{"name","arguments"}}] for a call's first delta,
// [{"index","function":{"arguments"}}] for the rest.
nlohmann::json tool_call_deltas_json(const std::vector<chat::ToolCallDelta>& deltas);

// Whole response: message.tool_calls, every call's fragments joined.
nlohmann::json tool_calls_json(const std::vector<chat::ToolCallDelta>& deltas);

// nlohmann dump that never throws on invalid UTF-8 (replaced by U+FFFD).
std::string dump_json(const nlohmann::json& j);

}  // namespace xy::server
