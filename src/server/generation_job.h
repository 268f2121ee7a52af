// One /v1/completions or /v1/chat/completions call in flight: its choices (n per prompt) run as
// separate engine requests; the job gathers their deltas (on the stream pump's thread) and
// writes either SSE chunks as they come or one JSON response at the end. A client disconnect or
// an unwritable stream aborts every choice in the engine, which frees their KV blocks within a
// step. Each finished choice is logged (one line) and recorded in the metrics.
//
// Threads: start() on an I/O thread; deltas on the pump thread; abort() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chat/tool_call_stream.h"
#include "engine/engine.h"
#include "server/http_exchange.h"
#include "server/protocol/openai_request.h"
#include "server/server_metrics.h"
#include "server/stream_pump.h"
#include "server/structured_output.h"

namespace xy::server {

struct JobSpec {
  bool chat = false;
  std::string id;     // "cmpl-..." / "chatcmpl-..."
  std::string model;  // served model name
  int64_t created = 0;
  GenerationOptions gen;
  // Per prompt: its token count, and the text that `echo` prepends (completions only).
  std::vector<int> prompt_tokens;
  std::vector<std::string> echo_text;
  ToolOutput tools;  // chat: how the text becomes tool calls
  // Disaggregated prefill (kv_transfer_params.do_remote_decode): turns the final delta's K/V
  // and sampled tokens into the response's kv_transfer_params. Null otherwise.
  std::function<Result<nlohmann::json>(std::shared_ptr<const KvSnapshot>,
                                       const std::vector<int32_t>&, uint64_t rng_position)>
      export_kv;
};

// Counters the service keeps across jobs (admission control, /metrics, shutdown).
struct JobCounters {
  std::atomic<int> jobs_in_flight{0};
  std::atomic<int> choices_not_started{0};  // submitted, no output yet: the waiting queue
};

class GenerationJob : public std::enable_shared_from_this<GenerationJob> {
 public:
  GenerationJob(JobSpec spec, std::shared_ptr<ResponseSink> sink, Engine& engine,
                const Tokenizer& tokenizer, ServerMetrics& metrics, JobCounters& counters);
  ~GenerationJob();

  // Submits `requests` (choice i = requests[i]); on success deltas start flowing through
  // `pump`. On failure nothing stays queued and the error is returned (no response sent).
  Status start(std::vector<EngineRequest> requests, StreamPump& pump);
  // Aborts every unfinished choice (idempotent).
  void abort();

 private:
  struct Choice {
    SeqId engine_id = 0;
    int prompt_index = 0;
    std::string text;
    size_t text_bytes_sent = 0;
    std::vector<TokenLogprobs> logprobs;
    int completion_tokens = 0;
    int cached_tokens = 0;
    bool role_sent = false;
    bool got_output = false;
    bool finished = false;
    StreamDelta final_delta;  // its finish fields (text/tokens not kept)
    std::chrono::steady_clock::time_point first_output;
    std::vector<double> token_times;  // engine clock
    double queue_time_s = -1.0;
    std::optional<chat::ToolCallStream> tool_stream;    // chat with tools: text -> calls
    std::vector<int32_t> token_ids;                     // kept only when exporting K/V
    std::optional<Result<nlohmann::json>> kv_transfer;  // exporting: where to pull, or why not
  };

  void on_delta(size_t choice, StreamDelta&& d);
  void stream_delta(size_t choice, const StreamDelta& d);
  void finish_all();
  void record(size_t choice);
  nlohmann::json chunk_base() const;
  std::optional<chat::ToolCallStream> make_tool_stream() const;

  JobSpec spec_;
  std::shared_ptr<ResponseSink> sink_;
  Engine& engine_;
  const Tokenizer& tokenizer_;
  ServerMetrics& metrics_;
  JobCounters& counters_;
  std::vector<Choice> choices_;
  size_t num_finished_ = 0;
  std::atomic<bool> aborted_{false};
  bool failed_ = false;  // an error was reported to the client
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace xy::server
