// The OpenAI-compatible API over one engine: routing, API-key check, admission control and the
// endpoint handlers. JSON is parsed and produced here and in generation_job; the engine only
// sees EngineRequest structs.
//
//   POST /v1/completions, /v1/chat/completions   generation (JSON or SSE)
//   GET  /v1/models, /health, /metrics           discovery, liveness (503 while loading),
//                                                Prometheus
//   GET  /stats                                  the dashboard's JSON (recent windows)
//   POST /tokenize, /detokenize                  the served model's tokenizer
//   GET  /, /assets/*                            the web page (chat and dashboard), public
//
// States: loading (everything but /health and /metrics answers 503) -> ready -> draining
// (new generation requests get 503 while in-flight ones finish).
//
// Threads: handle() runs on I/O threads and never blocks on the engine; set_ready() and
// begin_draining() from the main thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "chat/tool_calls.h"
#include "engine/engine.h"
#include "grammar/grammar_compiler.h"
#include "model/model_config.h"
#include "server/disaggregation.h"
#include "server/generation_job.h"
#include "server/http_exchange.h"
#include "server/server_metrics.h"
#include "server/stream_pump.h"
#include "tokenizer/chat_template.h"

namespace xy::server {

struct ServiceOptions {
  std::string served_model_name;
  std::string model_root;  // shown as "root" in /v1/models
  std::string api_key;     // "" = no authentication
  int max_queued_requests = 4096;
  // Clients should retry after this many seconds when the queue is full (Retry-After).
  int retry_after_s = 1;
  // How the model writes tool calls: "hermes", "llama3_json", "mistral"; "" = found from the
  // chat template (none found: tool_choice "auto" answers as plain text).
  std::string tool_call_parser;
};

class OpenAIService {
 public:
  explicit OpenAIService(ServiceOptions options);
  ~OpenAIService();

  // The model is loaded: serve it. The engine and tokenizer must outlive the service's use
  // (stop() before destroying them).
  // `defaults` (generation_config.json) fill sampling fields a request leaves unset, as vLLM does.
  void set_ready(Engine* engine, const Tokenizer* tokenizer, const GenerationDefaults& defaults);
  // How the weights are stored ("gguf Q4_K", "safetensors bf16"), shown as "format" in
  // /v1/models. Call before set_ready().
  void set_model_format(std::string format) { model_format_ = std::move(format); }
  // Takes part in prefill/decode disaggregation (kv_transfer_params). Call before set_ready();
  // `d` must outlive the service's use.
  void set_disaggregation(Disaggregation* d) { disaggregation_ = d; }
  void begin_draining() { draining_.store(true); }
  // Stops the stream pump (after the engine has ended every request).
  void stop();

  void handle(HttpRequest request, std::shared_ptr<ResponseSink> sink);

  int jobs_in_flight() const { return counters_.jobs_in_flight.load(); }
  // Connection count source for /metrics (set by the owner of the HTTP server).
  void set_connection_counter(std::function<int()> f) { connections_ = std::move(f); }

 private:
  void reply(ResponseSink& sink, HttpResponse r);
  void reply_error(ResponseSink& sink, const ApiError& e);
  void handle_completions(const HttpRequest& req, std::shared_ptr<ResponseSink> sink, bool chat);
  void handle_tokenize(const HttpRequest& req, ResponseSink& sink);
  void handle_detokenize(const HttpRequest& req, ResponseSink& sink);
  void handle_models(ResponseSink& sink, const std::string& one);  // "" = list
  void handle_metrics(ResponseSink& sink);
  void handle_stats(ResponseSink& sink);
  std::optional<ApiError> check_model(const std::string& model) const;
  void apply_generation_defaults(GenerationOptions& g) const;
  Result<std::string> render_chat(const nlohmann::ordered_json& messages,
                                  const nlohmann::ordered_json& tools, bool add_generation_prompt,
                                  bool continue_final_message,
                                  const nlohmann::ordered_json& kwargs) const;
  std::optional<ApiError> check_length(int prompt_tokens, std::optional<int> max_tokens) const;
  // kv_transfer_params: a prefill request keeps its K/V for export; a decode request pulls the
  // K/V first and starts the job when it has arrived. Returns false when it replied (error or
  // deferred start); true when the caller should start the job as usual.
  bool apply_kv_transfer(JobSpec& spec, std::vector<EngineRequest>& requests,
                         std::shared_ptr<ResponseSink>& sink, bool echo);
  // The compiled grammar of a request's output constraint, or the 400 that explains it.
  std::variant<std::shared_ptr<const grammar::CompiledGrammar>, ApiError> compile_grammar(
      const grammar::GrammarSpec& spec, const std::string& param);

  ServiceOptions options_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  Engine* engine_ = nullptr;
  const Tokenizer* tokenizer_ = nullptr;
  GenerationDefaults defaults_;
  std::unique_ptr<grammar::GrammarCompiler> grammars_;  // for this model's vocabulary
  std::optional<chat::ToolCallFormat> tool_format_;
  std::optional<ChatTemplate> chat_template_;
  std::string chat_template_error_;
  std::string model_format_;
  int max_model_len_ = 0;
  int64_t created_ = 0;
  ServerMetrics metrics_;
  JobCounters counters_;
  std::unique_ptr<StreamPump> pump_;
  std::function<int()> connections_;
  Disaggregation* disaggregation_ = nullptr;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace xy::server
