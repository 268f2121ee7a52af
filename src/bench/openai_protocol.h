// The OpenAI wire format as the benchmark client uses it: request bodies for /v1/completions
// and /v1/chat/completions (streaming, usage requested, output length forced), and the fields
// read back from each SSE chunk. Works with any OpenAI-compatible server (xyserve, vLLM,
// llama.cpp's llama-server, SGLang): unknown chunk fields are ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace xy::bench {

enum class Endpoint { kCompletions, kChat };

struct Url {
  std::string host;
  std::string port;       // "80" when the URL has none
  std::string base_path;  // "" or "/prefix" without a trailing '/'
};
// "http://host[:port][/path]". https is kUnsupported (the client speaks plain HTTP).
Result<Url> parse_url(std::string_view url);
// The request target: base_path + "/v1/completions" or "/v1/chat/completions"; a base path
// that already ends in "/v1" is not doubled.
std::string endpoint_path(const Url& url, Endpoint endpoint);

struct GenerationParams {
  std::string model;
  int max_tokens = 16;
  bool ignore_eos = true;  // vLLM / llama.cpp / xyserve extension: generate exactly max_tokens
  double temperature = 0;  // greedy by default, as vLLM's benchmark
  // Ask for the sampled token's logprob in every chunk: the chunk then names its tokens, so
  // tokens whose text is empty (ids a checkpoint's tokenizer cannot decode, held-back bytes)
  // are still streamed and counted one by one.
  bool stream_logprobs = false;
};
std::string make_request_body(Endpoint endpoint, std::string_view prompt,
                              const GenerationParams& params);

// What one "data:" event said.
struct ChunkInfo {
  bool done = false;       // the "[DONE]" sentinel
  std::string text;        // generated text of choice 0 (text, delta.content, or reasoning)
  int logprob_tokens = 0;  // tokens listed in choice 0's logprobs (0 when none)
  std::optional<int> prompt_tokens;      // usage, when the chunk carries it
  std::optional<int> completion_tokens;  // usage, when the chunk carries it
  std::string error;                     // an {"error": ...} event's message
};
// kFormatError for data that is neither JSON nor [DONE].
Result<ChunkInfo> parse_chunk(std::string_view data);

// The message of an OpenAI error body ({"error": {"message": ...}}), else the body itself
// (truncated to 200 bytes).
std::string error_message_from_body(std::string_view body);

}  // namespace xy::bench
