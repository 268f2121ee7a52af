// The OpenAI request bodies the server accepts, parsed and validated into native structs.
// JSON stays here: the handlers turn these structs into engine requests, the engine never sees
// JSON. Parsing is strict about types (a wrong type is a 400 naming the field, as OpenAI does)
// and lenient about unknown fields (ignored, as vLLM does), so newer SDKs keep working.
//
// Thread-safety: pure functions of their input. Failure: an ApiError (status 400 unless noted).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sampling/sampling_params.h"
#include "server/protocol/api_error.h"

namespace xy::server {

// Limits that keep one request from monopolizing the server; checked by the parser.
struct ProtocolLimits {
  static constexpr int kMaxN = 128;             // choices per prompt
  static constexpr int kMaxStopSequences = 16;  // OpenAI allows 4; vLLM any number
  static constexpr int kMaxPrompts = 256;       // prompts of one batched completions call
  static constexpr int kMaxCompletionLogprobs = 20;
};

// Which sampling fields the request set itself; the others may take the model's defaults from
// generation_config.json (as vLLM does), not OpenAI's.
struct SamplingFieldsSet {
  bool temperature = false, top_p = false, top_k = false, min_p = false, repetition_penalty = false;
};

// Structured output a request asks for: OpenAI's response_format, or vLLM's guided_* fields /
// structured_outputs object (exactly one of them). The text is compiled by the service.
struct OutputConstraint {
  enum class Kind { kNone, kJsonObject, kJsonSchema, kRegex, kChoice, kGrammar };
  Kind kind = Kind::kNone;
  std::string text;                  // schema JSON / regex / grammar
  std::vector<std::string> choices;  // kChoice
  std::string param;                 // the request field it came from, for errors
};

// kv_transfer_params (prefill/decode disaggregation, set by the router; vLLM's field name):
//   {"do_remote_decode": true}  prefill here, keep the prompt's K/V for a decode instance and
//                               answer with where to pull it (one token is generated here)
//   {"do_remote_prefill": true, "transfer_id", "remote_host", "remote_port",
//    "sampled_token_ids",       pull the prompt's K/V from the prefill instance and continue
//    "kv_transport"}            after the tokens it sampled ("ucx" or "tcp"; absent = tcp)
struct KvTransferParams {
  bool do_remote_decode = false;
  bool do_remote_prefill = false;
  std::string transfer_id;
  std::string remote_host;
  int remote_port = 0;
  std::string kv_transport = "tcp";
  std::vector<int32_t> sampled_token_ids;
  uint64_t rng_position = 0;  // random draws the prefill instance consumed (seeded sampling)
};

// Parameters shared by /v1/completions and /v1/chat/completions.
struct GenerationOptions {
  std::string model;
  SamplingParams sampling;         // validated; sampling.logprobs = top alternatives per token
  SamplingFieldsSet sampling_set;  // which of them the request gave (the rest: model defaults)
  std::optional<int> max_tokens;   // unset: until the context ends (chat) / 16 (completions)
  int n = 1;
  std::vector<std::string> stop;  // stop strings, excluded from the output
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  bool skip_special_tokens = true;
  bool include_stop_str_in_output = false;
  bool stream = false;
  bool include_usage = false;           // stream_options.include_usage
  bool continuous_usage_stats = false;  // stream_options.continuous_usage_stats (vLLM)
  bool logprobs = false;                // return the sampled tokens' logprobs
  int priority = 0;                     // vLLM extension: lower = sooner
  std::string user;
  OutputConstraint constraint;
  std::optional<KvTransferParams> kv_transfer;
};

// tool_choice: "auto" (the model decides; calls are parsed from its output), "none", "required"
// (at least one call, grammar-enforced) or one named function (grammar-enforced).
struct ToolChoice {
  enum class Mode { kAuto, kNone, kRequired, kNamed };
  Mode mode = Mode::kAuto;
  std::string name;  // kNamed
};

// One completions prompt: text, or token ids given directly.
struct PromptInput {
  std::variant<std::string, std::vector<int32_t>> value;
  bool is_text() const { return std::holds_alternative<std::string>(value); }
};

struct CompletionRequest {
  GenerationOptions gen;
  std::vector<PromptInput> prompts;  // >= 1; choice index = prompt_index * n + i
  bool echo = false;                 // prepend the prompt text to each choice
};

struct ChatCompletionRequest {
  GenerationOptions gen;
  // Validated messages, content flattened to strings (text parts joined with "\n", as vLLM).
  nlohmann::ordered_json messages;
  // Validated [{"type":"function","function":{"name",...,"parameters"}}]; null when absent.
  nlohmann::ordered_json tools;
  ToolChoice tool_choice;  // default: auto with tools, none without
  bool parallel_tool_calls = true;
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  nlohmann::ordered_json chat_template_kwargs;  // object or null
};

struct TokenizeRequest {
  std::string model;  // optional in the body
  // Exactly one of: text prompt, or chat messages rendered through the template.
  std::optional<std::string> prompt;
  nlohmann::ordered_json messages;
  bool add_special_tokens = true;
  bool add_generation_prompt = true;
};

struct DetokenizeRequest {
  std::string model;
  std::vector<int32_t> tokens;
};

template <class T>
using Parsed = std::variant<T, ApiError>;

// Each takes the raw request body. Invalid JSON, invalid UTF-8 and wrong types are 400s.
Parsed<CompletionRequest> parse_completion_request(std::string_view body);
Parsed<ChatCompletionRequest> parse_chat_completion_request(std::string_view body);
Parsed<TokenizeRequest> parse_tokenize_request(std::string_view body);
Parsed<DetokenizeRequest> parse_detokenize_request(std::string_view body);

}  // namespace xy::server
