// `xyserve serve`: the OpenAI-compatible HTTP server (flags in the style of `vllm serve`).
// Start-up order: listen first (so /health answers 503 while the model loads), load the model
// and tokenizer, start the engine, then serve. SIGTERM / SIGINT: stop accepting, let in-flight
// requests finish within --shutdown-timeout, abort the rest, flush, exit 0.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/default_model.h"
#include "cli/engine_flags.h"
#include "cli/model_session.h"
#include "core/seconds.h"
#include "engine/engine.h"
#include "model/model.h"
#include "server/http_server.h"
#include "server/openai_service.h"
#include "tokenizer/tokenizer.h"

namespace xy::cli {

namespace {

struct ServeArgs {
  ModelSessionOptions session;
  EngineFlags engine;
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string api_key;
  std::string served_model_name;
  int max_queued_requests = 4096;
  int64_t max_request_bytes = 16 << 20;
  int io_threads = 2;
  double shutdown_timeout_s = 30.0;
  std::string tool_call_parser;
  server::DisaggregationOptions disaggregation;
  bool kv_transfer_host_set = false;
};

int run_serve(const ServeArgs& in) {
  ServeArgs a = in;
  if (a.session.model_dir.empty()) {
    std::fprintf(stderr,
                 "xyserve serve: --model DIR is required (no default model in models/xy-target)\n");
    return 2;
  }
  if (a.api_key.empty()) {
    if (const char* k = std::getenv("XYSERVE_API_KEY")) a.api_key = k;
  }
  if (a.served_model_name.empty()) a.served_model_name = a.session.model_dir;
  if (a.max_queued_requests < 1 || a.max_request_bytes < 1 || a.io_threads < 1 || a.port < 0 ||
      a.port > 65535) {
    std::fprintf(stderr,
                 "xyserve serve: --max-queued-requests, --max-request-bytes, --io-threads must be "
                 ">= 1 and --port in [0, 65535]\n");
    return 2;
  }

  // Signals are taken by sigwait() on this thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::ServiceOptions so;
  so.served_model_name = a.served_model_name;
  so.model_root = a.session.model_dir;
  so.api_key = a.api_key;
  so.max_queued_requests = a.max_queued_requests;
  so.tool_call_parser = a.tool_call_parser;
  server::OpenAIService service(so);
  // Every instance can prefill for others and decode for others (kv_transfer_params): the
  // router assigns the roles. The KV transfer port advertises the HTTP host unless told.
  if (a.disaggregation.transfer_host.empty()) a.disaggregation.transfer_host = a.host;
  Result<std::unique_ptr<server::Disaggregation>> disaggregation =
      server::Disaggregation::start(a.disaggregation);
  if (!disaggregation.is_ok()) {
    std::fprintf(stderr, "xyserve serve: %s\n", disaggregation.status().message().c_str());
    return 2;
  }
  service.set_disaggregation(disaggregation->get());

  server::HttpServerOptions ho;
  ho.host = a.host;
  ho.port = a.port;
  ho.io_threads = a.io_threads;
  ho.limits.max_request_bytes = size_t(a.max_request_bytes);
  server::HttpServer http(
      ho, [&service](server::HttpRequest r, std::shared_ptr<server::ResponseSink> s) {
        service.handle(std::move(r), std::move(s));
      });
  service.set_connection_counter([&http] { return http.connections().open.load(); });
  if (Status st = http.listen(); !st.is_ok()) {
    std::fprintf(stderr, "xyserve serve: %s\n", st.message().c_str());
    return 1;
  }
  http.start();
  // Tests and scripts read the port from this line (--port 0 picks a free one).
  spdlog::info("listening on http://{}:{} (loading {})", a.host, http.port(), a.session.model_dir);
  spdlog::info("role {}, KV transfer ({}) on {}:{}", a.disaggregation.role,
               cluster::kv_transport_name((*disaggregation)->transport()),
               a.disaggregation.transfer_host, (*disaggregation)->transfer_port());

  // Model, tokenizer and engine (the same flags and construction as generate / bench offline).
  auto t0 = std::chrono::steady_clock::now();
  Result<std::unique_ptr<ModelSession>> session = ModelSession::open(a.session);
  if (!session.is_ok()) {
    std::fprintf(stderr, "xyserve serve: %s\n", session.status().to_string().c_str());
    return 1;
  }
  Result<std::unique_ptr<Engine>> engine = make_engine_from_flags(a.engine, **session, a.session);
  if (!engine.is_ok()) {
    std::fprintf(stderr, "xyserve serve: %s\n", engine.status().to_string().c_str());
    return 1;
  }
  const EngineStats es = (*engine)->stats();
  spdlog::info(
      "model {} ready in {:.1f}s: {} KV blocks x {} tokens, budget {} tokens/step, "
      "max_num_seqs {}, max_model_len {}, {} compute threads, {} compute",
      a.served_model_name,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
      es.num_kv_blocks, es.block_size, es.max_num_batched_tokens, es.max_num_seqs, es.max_model_len,
      (*engine)->model().num_threads(),
      (*engine)->model().compute_dtype() == ComputeDtype::kBf16 ? "bf16" : "f32");
  if (Result<std::string> format = describe_weight_format(a.session.model_dir); format.is_ok()) {
    service.set_model_format(*format);
  }
  service.set_ready(engine->get(), &(*session)->tokenizer(), (*session)->generation_defaults());
  spdlog::info("chat and dashboard: http://{}:{}/ (OpenAI API under /v1)", a.host, http.port());

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: draining ({} requests in flight, grace {:.0f}s)", sig,
               service.jobs_in_flight(), a.shutdown_timeout_s);
  http.stop_accepting();
  service.begin_draining();
  const auto deadline = std::chrono::steady_clock::now() + steady_seconds(a.shutdown_timeout_s);
  while (service.jobs_in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (service.jobs_in_flight() > 0) {
    spdlog::warn("grace period over: aborting {} requests", service.jobs_in_flight());
  }
  (*engine)->shutdown();  // aborts whatever is left; their clients get an error / end of stream
  const auto flush_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while ((service.jobs_in_flight() > 0 || http.connections().active_exchanges.load() > 0) &&
         std::chrono::steady_clock::now() < flush_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  http.stop();
  service.stop();
  spdlog::info("shut down");
  return 0;
}

}  // namespace

CommandRunner add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  a->session.model_dir = default_target_model_dir();
  CLI::App* cmd = app.add_subcommand(
      "serve", "OpenAI-compatible HTTP server (completions, chat, SSE, /metrics)");
  cmd->add_option("--model", a->session.model_dir,
                  "Hugging Face checkpoint directory (default: the shipped models/xy-target)");
  cmd->add_option("--host", a->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", a->port, "Port (0 = any free port)")->capture_default_str();
  cmd->add_option("--api-key", a->api_key,
                  "Require 'Authorization: Bearer KEY' on /v1/* (or env XYSERVE_API_KEY)");
  cmd->add_option("--served-model-name", a->served_model_name,
                  "Model name in the API (default: the --model path)");
  cmd->add_option("--max-queued-requests", a->max_queued_requests,
                  "Requests waiting for their first token before new ones get 429")
      ->capture_default_str();
  cmd->add_option("--max-request-bytes", a->max_request_bytes, "Largest request body (else 413)")
      ->capture_default_str();
  cmd->add_option("--io-threads", a->io_threads, "HTTP I/O threads")->capture_default_str();
  cmd->add_option("--tool-call-parser", a->tool_call_parser,
                  "Tool-call format of the model's output for tool_choice auto: hermes, "
                  "llama3_json, mistral (default: found from the chat template)")
      ->check(CLI::IsMember({"hermes", "llama3_json", "mistral"}));
  cmd->add_option("--shutdown-timeout", a->shutdown_timeout_s,
                  "Seconds in-flight requests may take to finish after SIGTERM")
      ->capture_default_str();
  cmd->add_option("--role", a->disaggregation.role,
                  "Prefill/decode disaggregation role this instance starts in (the router may "
                  "move it): hybrid, prefill or decode")
      ->capture_default_str()
      ->check(CLI::IsMember({"hybrid", "prefill", "decode"}));
  cmd->add_option("--kv-transfer-host", a->disaggregation.transfer_host,
                  "Address of the KV transfer port, bound and advertised to decode instances "
                  "(default: --host)");
  cmd->add_option("--kv-transfer-port", a->disaggregation.transfer_port,
                  "Port prompt K/V is served on to decode instances (0 = any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--kv-transport", a->disaggregation.transport,
                  "Transport prompt K/V is served with: ucx (RDMA where the network has it, "
                  "shared memory on one host, else TCP) or tcp (default: ucx when built with "
                  "UCX, falling back to tcp when UCX cannot start)")
      ->check(CLI::IsMember({"ucx", "tcp"}));
  cmd->add_option("--kv-export-ttl", a->disaggregation.export_ttl_s,
                  "Seconds exported prompt K/V waits to be pulled before it is dropped")
      ->capture_default_str();
  add_model_flags(*cmd, a->session);
  add_engine_flags(*cmd, a->engine);
  return [a] { return run_serve(*a); };
}

}  // namespace xy::cli
