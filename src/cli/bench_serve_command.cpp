// `xyserve bench serve`: replays a serving trace (Azure LLM 2023, Mooncake FAST'25, or Poisson
// arrivals) against any OpenAI-compatible server and reports throughput, TTFT / TPOT / ITL /
// E2E percentiles and goodput as a table, JSON and a self-contained HTML report.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/load_generator.h"
#include "bench/progress_printer.h"
#include "bench/prompt_synthesizer.h"
#include "bench/report.h"
#include "bench/server_info.h"
#include "bench/trace.h"
#include "bench/trace_shaping.h"
#include "cli/commands.h"
#include "cli/model_session.h"

namespace xy::cli {
namespace {

struct BenchServeArgs {
  std::string url, model, trace, tokenizer, api_key, endpoint = "completions";
  std::string json_out, html_out, data_dir;
  std::string dataset_path;  // prompt text; empty: <data_dir>/prompts (Arena-Hard)
  double rate_scale = 1, rate = 0, duration_s = 0, slo_ttft_ms = 0, slo_tpot_ms = 0;
  double request_timeout_s = 600, temperature = 0;
  int max_concurrency = 0, num_prompts = 0, input_len = 0, output_len = 0, max_model_len = 0;
  uint64_t seed = 0;
  bool no_ignore_eos = false, no_progress = false, stream_logprobs = false;
};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return io_error(path + ": cannot open for writing");
  out << text;
  out.close();
  if (!out) return io_error(path + ": write failed");
  return Status::ok();
}

std::string fmt2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The workload: the trace's requests after shaping, and a description of the arrivals.
Result<bench::Trace> build_workload(const BenchServeArgs& a, std::string& rate_desc) {
  bench::Trace trace;
  if (a.trace == "poisson") {
    int n = a.num_prompts;
    if (n <= 0)
      n = a.rate > 0 && a.duration_s > 0 ? static_cast<int>(std::ceil(a.rate * a.duration_s)) : 100;
    trace = bench::make_poisson_trace(n, a.rate, a.input_len > 0 ? a.input_len : 256,
                                      a.output_len > 0 ? a.output_len : 128, a.seed);
    rate_desc = a.rate > 0 ? "poisson " + fmt2(a.rate) + " req/s" : "all at t=0 (burst)";
  } else {
    XY_ASSIGN_OR_RETURN(trace, bench::load_trace(a.trace, a.data_dir));
    // Mooncake's conversation trace buckets arrivals every 3 s (its README).
    if (a.trace == "mooncake-conv") bench::spread_bucketed_arrivals(trace, 3.0);
    bench::override_lengths(trace, a.input_len, a.output_len);
    const double native = bench::mean_rate(trace);
    if (a.rate > 0) {
      bench::set_mean_rate(trace, a.rate);
      rate_desc = "trace rescaled to " + fmt2(a.rate) + " req/s (native " + fmt2(native) + ")";
    } else {
      bench::scale_rate(trace, a.rate_scale);
      rate_desc = "trace x" + fmt2(a.rate_scale) + " (" + fmt2(native * a.rate_scale) + " req/s)";
    }
  }
  bench::cut_trace(trace, a.duration_s, a.num_prompts);
  const int clamped = bench::clamp_to_context(trace, a.max_model_len);
  if (clamped > 0)
    std::fprintf(stderr, "bench: %d requests clamped to --max-model-len %d\n", clamped,
                 a.max_model_len);
  if (trace.requests.size() > 1 && trace.requests.back().arrival_s > 0) {
    const double offered =
        static_cast<double>(trace.requests.size() - 1) / trace.requests.back().arrival_s;
    rate_desc += "; offered " + fmt2(offered) + " req/s over " +
                 std::to_string(trace.requests.size()) + " requests";
  }
  if (trace.requests.empty())
    return invalid_argument("the workload has no requests (check --duration / --num-prompts)");
  return trace;
}

int run_bench_serve(const BenchServeArgs& a) {
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "xyserve bench serve: %s\n", st.message().c_str());
    return 1;
  };
  auto url = bench::parse_url(a.url);
  if (!url) return fail(url.status());
  if (a.endpoint != "completions" && a.endpoint != "chat")
    return fail(
        invalid_argument("--endpoint must be completions or chat, not '" + a.endpoint + "'"));
  const bench::Endpoint endpoint =
      a.endpoint == "chat" ? bench::Endpoint::kChat : bench::Endpoint::kCompletions;
  std::string tok_dir = a.tokenizer;
  if (tok_dir.empty() && std::filesystem::exists(std::filesystem::path(a.model) / "tokenizer.json"))
    tok_dir = a.model;
  if (tok_dir.empty())
    return fail(invalid_argument(
        "--tokenizer DIR is required (the served model's directory with tokenizer.json), "
        "unless --model names such a directory"));

  std::string api_key = a.api_key;
  if (api_key.empty())
    if (const char* k = std::getenv("OPENAI_API_KEY"); k) api_key = k;
  BenchServeArgs args = a;
  if (args.max_model_len <= 0) {
    // Servers that report their context length (vLLM, xyserve) get prompts that fit it.
    auto len = bench::fetch_max_model_len(*url, a.model, api_key, 10.0);
    if (len && len->has_value()) {
      args.max_model_len = **len;
      std::fprintf(stderr, "bench: server max_model_len %d (from /v1/models)\n",
                   args.max_model_len);
    }
  }
  std::string rate_desc;
  auto trace = build_workload(args, rate_desc);
  if (!trace) return fail(trace.status());
  auto tokenizer = load_tokenizer(tok_dir);
  if (!tokenizer) return fail(tokenizer.status());
  auto synth = bench::make_prompt_synthesizer(**tokenizer, a.dataset_path, a.data_dir);
  if (!synth) return fail(synth.status());

  const auto& reqs = trace->requests;
  std::fprintf(stderr, "bench: synthesizing %zu prompts (%s tokenizer)...\n", reqs.size(),
               tok_dir.c_str());
  std::vector<bench::PreparedRequest> prepared(reqs.size());
  bench::GenerationParams params;
  params.model = a.model;
  params.ignore_eos = !a.no_ignore_eos;
  params.temperature = a.temperature;
  params.stream_logprobs = a.stream_logprobs;
  // Synthesis re-encodes every prompt; long traces take a while, so all cores share it (the
  // tokenizer and synthesizer are thread-safe). It happens before the clock starts.
  const int min_prompt = synth->special_tokens() + 1;
  std::vector<Status> errors(reqs.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    bench::GenerationParams p = params;
    for (size_t i; (i = next.fetch_add(1)) < reqs.size();) {
      const int n_in = std::max(min_prompt, reqs[i].input_tokens);
      auto text = synth->make(n_in, reqs[i].hash_ids, a.seed * 1000003ull + i);
      if (!text) {
        errors[i] = text.status();
        continue;
      }
      p.max_tokens = std::max(1, reqs[i].output_tokens);
      prepared[i] = {reqs[i].arrival_s, bench::make_request_body(endpoint, *text, p), n_in,
                     p.max_tokens};
    }
  };
  const unsigned n_threads =
      std::min<unsigned>(std::max(1u, std::thread::hardware_concurrency()), 16);
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n_threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (const Status& st : errors)
    if (!st) return fail(st);

  bench::LoadOptions opts;
  opts.url = *url;
  opts.endpoint = endpoint;
  opts.api_key = api_key;
  opts.max_concurrency = a.max_concurrency;
  opts.request_timeout_s = a.request_timeout_s;
  opts.tokenizer = tokenizer->get();
  bench::ProgressPrinter progress(stderr, isatty(STDERR_FILENO) != 0);
  if (!a.no_progress) opts.on_progress = [&](const bench::Progress& p) { progress.update(p); };
  std::fprintf(stderr, "bench: %zu requests over %.1f s of arrivals -> %s\n", prepared.size(),
               reqs.back().arrival_s, a.url.c_str());
  bench::RunInfo info{a.url, a.model, a.endpoint, a.trace, rate_desc, a.max_concurrency, utc_now()};
  auto run = bench::run_load(prepared, opts);
  if (!run) return fail(run.status());
  if (!a.no_progress && isatty(STDERR_FILENO)) std::fputc('\n', stderr);

  const bench::Summary summary =
      bench::summarize(run->records, run->duration_s, {a.slo_ttft_ms, a.slo_tpot_ms});
  std::fputs(bench::format_table(info, summary).c_str(), stdout);
  if (!a.json_out.empty()) {
    if (Status st = write_file(a.json_out, bench::format_json(info, summary, run->records)); !st)
      return fail(st);
  }
  if (!a.html_out.empty()) {
    if (Status st = write_file(a.html_out, bench::format_html(info, summary, run->records)); !st)
      return fail(st);
  }
  if (summary.completed == 0) {
    std::fprintf(stderr, "xyserve bench serve: no request succeeded\n");
    return 1;
  }
  return 0;
}

}  // namespace

CommandRunner add_bench_serve_command(CLI::App& bench) {
  auto a = std::make_shared<BenchServeArgs>();
  a->data_dir = bench::default_data_dir();
  CLI::App* cmd = bench.add_subcommand(
      "serve", "Replay a trace against an OpenAI-compatible server; report latency and goodput");
  cmd->add_option("--url", a->url, "Server base URL, e.g. http://127.0.0.1:8000")->required();
  cmd->add_option("--model", a->model,
                  "Model name sent in requests (a local directory also "
                  "serves as --tokenizer)")
      ->required();
  cmd->add_option("--trace", a->trace,
                  "azure-conv | azure-code | mooncake-conv | mooncake-synthetic | poisson, or a "
                  ".csv (Azure schema) / .jsonl (Mooncake schema) path")
      ->required();
  auto* scale = cmd->add_option("--rate-scale", a->rate_scale,
                                "Replay arrivals X times faster than the trace")
                    ->check(CLI::PositiveNumber);
  cmd->add_option("--rate", a->rate,
                  "Mean request rate (req/s): rescales a trace, or Poisson rate (default: all "
                  "requests at once)")
      ->check(CLI::PositiveNumber)
      ->excludes(scale);
  cmd->add_option("--duration", a->duration_s,
                  "Keep arrivals in the first S seconds (after scaling)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-concurrency", a->max_concurrency, "Most requests in flight (0: no cap)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--slo-ttft-ms", a->slo_ttft_ms, "TTFT SLO for goodput (ms)")->required();
  cmd->add_option("--slo-tpot-ms", a->slo_tpot_ms, "TPOT SLO for goodput (ms)")->required();
  cmd->add_option("--tokenizer", a->tokenizer, "Directory with the target's tokenizer.json");
  cmd->add_option("--num-prompts", a->num_prompts, "Send at most N requests (poisson: N requests)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--input-len", a->input_len,
                  "Prompt tokens of every request (poisson default 256)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--output-len", a->output_len,
                  "Output tokens of every request (poisson default 128)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-model-len", a->max_model_len,
                  "Clamp prompt + output to the server's context length (default: the "
                  "max_model_len the server reports in /v1/models, if any)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--api-key", a->api_key, "Bearer token (default: env OPENAI_API_KEY)");
  cmd->add_option("--endpoint", a->endpoint, "completions | chat")
      ->check(CLI::IsMember({"completions", "chat"}));
  cmd->add_option("--json-out", a->json_out, "Write the summary and per-request records as JSON");
  cmd->add_option("--html-out", a->html_out, "Write a self-contained HTML report (SVG plots)");
  cmd->add_option("--seed", a->seed,
                  "Seed of Poisson arrivals and prompt text (the same seed sends the same prompts: "
                  "vary it between runs, or a server's prefix cache will hit them)");
  cmd->add_option("--temperature", a->temperature, "Sampling temperature (default 0: greedy)");
  cmd->add_option("--request-timeout", a->request_timeout_s,
                  "Seconds a request may wait on one connect / write / read")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-ignore-eos", a->no_ignore_eos,
                "Let the model stop at EOS (default: ignore_eos, exactly max_tokens)");
  cmd->add_flag("--stream-logprobs", a->stream_logprobs,
                "Request the sampled token's logprob so every streamed token is counted, even "
                "with empty text (e.g. random-weight checkpoints whose ids do not decode)");
  cmd->add_flag("--no-progress", a->no_progress, "No progress output on stderr");
  cmd->add_option("--data-dir", a->data_dir, "Directory with traces/ and prompts/")
      ->capture_default_str();
  cmd->add_option("--dataset-path", a->dataset_path,
                  "Cut prompts from this text instead of the shipped Arena-Hard prompts: .jsonl "
                  "rows {\"prompt\": ...} or plain text");
  return [a]() { return run_bench_serve(*a); };
}

}  // namespace xy::cli
