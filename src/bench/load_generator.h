// Replays a workload against an OpenAI-compatible server: each request is sent at its arrival
// time (held back while --max-concurrency requests are in flight), streamed over its own HTTP
// connection, and measured by a StreamRecorder. Asynchronous (Boost.Asio, one thread), so
// thousands of concurrent streams cost no thread each.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench/metrics.h"
#include "bench/openai_protocol.h"
#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace xy::bench {

struct PreparedRequest {
  double arrival_s = 0;   // when to send, seconds after the run starts
  std::string body;       // the JSON request body
  int prompt_tokens = 0;  // synthesized prompt length (until the server's usage says otherwise)
  int max_tokens = 0;
};

struct Progress {
  int total = 0, sent = 0, completed = 0, failed = 0, in_flight = 0;
  long long output_tokens = 0;
  double elapsed_s = 0;
};

struct LoadOptions {
  Url url;
  Endpoint endpoint = Endpoint::kCompletions;
  std::string api_key;                   // "" = no Authorization header
  int max_concurrency = 0;               // <= 0: unlimited
  double request_timeout_s = 600;        // idle limit per connect / write / read
  const Tokenizer* tokenizer = nullptr;  // counts tokens of multi-token chunks (may be null)
  // Called about every progress_interval_s on the client thread, and once at the end.
  std::function<void(const Progress&)> on_progress;
  double progress_interval_s = 0.5;
};

struct RunResult {
  std::vector<RequestRecord> records;  // in workload order
  double duration_s = 0;               // run start -> last request finished
};

// Runs the whole workload and returns when every request has finished or failed. Request
// failures are recorded per request; only a host that cannot be resolved fails the call
// (kNotFound).
Result<RunResult> run_load(const std::vector<PreparedRequest>& requests, const LoadOptions& opts);

}  // namespace xy::bench
