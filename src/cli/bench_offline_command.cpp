// `xyserve bench offline`: throughput of the engine without a server, in the style of
// `vllm bench throughput` — N requests submitted at once, output lengths forced with max_tokens +
// ignore_eos. Prompts are random token ids (drawn uniformly from the tokenizer's ordinary
// vocabulary, as vLLM's random dataset does) or cut from real text (the shipped Arena-Hard
// prompts or any corpus file): speculative decoding needs text to have anything to predict. Reports
// requests/s, output and total tokens/s, mean TTFT / TPOT, step composition, prefix-cache hit rate
// and speculative acceptance.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench/prompt_synthesizer.h"
#include "bench/trace.h"
#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/model_session.h"
#include "engine/engine.h"
#include "engine/kv_cache/kv_cache_sizing.h"
#include "tokenizer/tokenizer.h"

namespace xy::cli {

namespace {

struct BenchOfflineArgs {
  ModelSessionOptions session;
  int num_prompts = 16;
  int input_len = 128;
  int output_len = 128;
  int prefix_len = 0;              // tokens every prompt shares (prefix-cache workloads)
  std::string dataset = "random";  // random | arena-hard | text (--dataset-path)
  std::string dataset_path;
  uint64_t seed = 0;
  std::string output_json;
  std::string trace;  // azure-conv | azure-code | mooncake-conv | ... | a file (bench/trace.h)
  EngineFlags engine;
};

struct Shape {
  int input = 0;
  int output = 0;
  std::vector<int64_t> hash_ids;  // Mooncake shared-prefix blocks
};

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5));
  return v[i];
}

int run_bench_offline(BenchOfflineArgs& a) {
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "xyserve bench offline: %s\n", st.message().c_str());
    return 1;
  };
  if (a.dataset != "random" && a.dataset != "arena-hard" && a.dataset != "text") {
    return fail(invalid_argument("--dataset-like: unknown prompt source '" + a.dataset +
                                 "' (use random, arena-hard or text)"));
  }
  if ((a.dataset == "text") != !a.dataset_path.empty()) {
    return fail(invalid_argument("--dataset-path goes with --dataset-like text, and only with it"));
  }
  if (a.dataset != "random" && a.prefix_len > 0) {
    return fail(invalid_argument(
        "--prefix-len works with random prompts; text prompts share prefixes through a Mooncake "
        "--trace's hash ids"));
  }
  if (a.num_prompts < 1 || a.input_len < 1 || a.output_len < 1 || a.prefix_len < 0 ||
      a.prefix_len > a.input_len) {
    return fail(
        invalid_argument("--num-prompts, --input-len and --output-len must be >= 1, 0 <= "
                         "--prefix-len <= --input-len"));
  }
  auto session = ModelSession::open(a.session);
  if (!session.is_ok()) return fail(session.status());
  ModelSession& s = **session;
  const ModelConfig& mc = s.model().config();
  const int max_len = a.engine.engine.max_model_len > 0
                          ? std::min(a.engine.engine.max_model_len, mc.max_position_embeddings)
                          : mc.max_position_embeddings;

  // The workload's shapes: random (all alike) or a trace's lengths, clamped to the context.
  std::vector<Shape> shapes;
  if (a.trace.empty()) {
    shapes.assign(static_cast<size_t>(a.num_prompts), Shape{a.input_len, a.output_len, {}});
  } else {
    auto trace = bench::load_trace(a.trace, bench::default_data_dir());
    if (!trace.is_ok()) return fail(trace.status());
    const size_t n = std::min(trace->requests.size(), static_cast<size_t>(a.num_prompts));
    for (size_t i = 0; i < n; ++i) {
      const bench::TraceRequest& t = trace->requests[i];
      shapes.push_back({t.input_tokens, t.output_tokens, t.hash_ids});
    }
  }
  int clamped = 0;
  for (Shape& sh : shapes) {
    const Shape before = sh;
    sh.input = std::clamp(sh.input, 1, max_len - 1);
    sh.output = std::clamp(sh.output, 1, max_len - sh.input);
    clamped += sh.input != before.input || sh.output != before.output;
  }
  if (clamped > 0) {
    std::fprintf(stderr, "bench offline: %d requests clamped to the context of %d tokens\n",
                 clamped, max_len);
  }

  if (a.engine.kv_cache_memory.empty() && a.engine.engine.num_kv_blocks == 0) {
    // Without --kv-cache-memory: the blocks for the largest max_num_seqs requests at once (no
    // preemption), unless that exceeds the default share of RAM (then the default applies).
    const int64_t bs = a.session.block_size;
    std::vector<int64_t> blocks;
    for (const Shape& sh : shapes) blocks.push_back((sh.input + sh.output + bs - 1) / bs + 1);
    std::sort(blocks.rbegin(), blocks.rend());
    blocks.resize(std::min(blocks.size(), static_cast<size_t>(a.engine.engine.max_num_seqs)));
    int64_t need = 1;
    for (int64_t b : blocks) need += b;
    const double bytes = static_cast<double>(need) * static_cast<double>(kv_block_bytes(
                                                         mc, a.session.block_size, s.kv_dtype()));
    if (bytes <= a.engine.engine.kv_cache_fraction * available_memory_bytes()) {
      a.engine.engine.num_kv_blocks = static_cast<int>(need);
    }
  }
  // Text prompts: exact-length cuts of the corpus, as `bench serve` sends them, encoded as the
  // server would encode them.
  std::optional<bench::PromptSynthesizer> synthesizer;
  if (a.dataset != "random") {
    // dataset_path is empty unless --dataset-like text (checked above).
    auto synth =
        bench::make_prompt_synthesizer(s.tokenizer(), a.dataset_path, bench::default_data_dir());
    if (!synth.is_ok()) return fail(synth.status());
    synthesizer.emplace(std::move(*synth));
  }
  auto engine_or = make_engine_from_flags(a.engine, s, a.session);
  if (!engine_or.is_ok()) return fail(engine_or.status());
  Engine& engine = **engine_or;

  // Ordinary tokens only: no special / added-special ids, nothing past the tokenizer's vocab.
  const int vocab = std::min<int>(s.tokenizer().vocab_size(), mc.vocab_size);
  std::uniform_int_distribution<int32_t> uniform(0, vocab - 1);
  const auto draw = [&](std::mt19937_64& g) {
    int32_t id = uniform(g);
    while (s.tokenizer().is_special(id)) id = uniform(g);
    return id;
  };
  std::mt19937_64 rng(a.seed);
  std::vector<int32_t> prefix(static_cast<size_t>(a.prefix_len));
  for (int32_t& t : prefix) t = draw(rng);
  std::vector<EngineRequest> requests;
  int64_t input_tokens = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape& sh = shapes[i];
    EngineRequest r;
    if (synthesizer) {
      auto text = synthesizer->make(sh.input, sh.hash_ids, a.seed * 1000003ull + i);
      if (!text.is_ok()) return fail(text.status());
      auto ids = s.tokenizer().encode(*text, /*add_special_tokens=*/true);
      if (!ids.is_ok()) return fail(ids.status());
      r.prompt_tokens = std::move(*ids);
    } else {
      // Mooncake hash ids: equal ids, equal 512-token blocks (tokens seeded by the id).
      for (int64_t id : sh.hash_ids) {
        std::mt19937_64 block_rng(static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ull + a.seed);
        for (int j = 0; j < bench::kHashBlockTokens; ++j)
          r.prompt_tokens.push_back(draw(block_rng));
      }
      if (sh.hash_ids.empty()) r.prompt_tokens = prefix;
      r.prompt_tokens.resize(std::min(r.prompt_tokens.size(), static_cast<size_t>(sh.input)));
      while (static_cast<int>(r.prompt_tokens.size()) < sh.input)
        r.prompt_tokens.push_back(draw(rng));
    }
    input_tokens += sh.input;
    r.sampling.temperature = 0.0f;
    r.max_tokens = sh.output;
    r.stop.ignore_eos = true;
    r.detokenize = true;
    requests.push_back(std::move(r));
  }
  const int num_requests = static_cast<int>(requests.size());

  const EngineStats before = engine.stats();
  const auto t0 = std::chrono::steady_clock::now();
  auto results = engine.generate(std::move(requests));
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!results.is_ok()) return fail(results.status());
  const EngineStats after = engine.stats();

  int64_t prompt_tokens = 0, output_tokens = 0;
  std::vector<double> ttft_ms, tpot_ms, e2e_ms;
  for (const StreamDelta& r : *results) {
    if (!r.error.is_ok()) return fail(r.error);
    prompt_tokens += r.usage.prompt_tokens;
    output_tokens += r.usage.completion_tokens;
    const RequestTimings& t = r.timings;
    ttft_ms.push_back((t.first_token_s - t.arrival_s) * 1e3);
    e2e_ms.push_back((t.finished_s - t.arrival_s) * 1e3);
    if (r.usage.completion_tokens > 1) {
      tpot_ms.push_back((t.finished_s - t.first_token_s) * 1e3 / (r.usage.completion_tokens - 1));
    }
  }
  const int64_t steps = after.num_steps - before.num_steps;
  const auto per_step = [&](int64_t v) { return steps > 0 ? static_cast<double>(v) / steps : 0.0; };
  const int64_t queries = after.prefix_cache_queries - before.prefix_cache_queries;
  const int64_t hits = after.prefix_cache_hits - before.prefix_cache_hits;
  const int64_t drafts = after.num_draft_tokens - before.num_draft_tokens;
  const int64_t accepted = after.num_accepted_tokens - before.num_accepted_tokens;

  nlohmann::ordered_json j;
  j["num_requests"] = num_requests;
  j["dataset"] = a.dataset;
  j["trace"] = a.trace.empty() ? "none" : a.trace;
  j["prompt_tokens"] = prompt_tokens;
  j["output_tokens"] = output_tokens;
  j["prompt_tokens_per_s"] = prompt_tokens / elapsed;
  j["elapsed_s"] = elapsed;
  j["requests_per_s"] = num_requests / elapsed;
  j["output_tokens_per_s"] = output_tokens / elapsed;
  j["total_tokens_per_s"] = (prompt_tokens + output_tokens) / elapsed;
  j["mean_ttft_ms"] = mean(ttft_ms);
  j["p99_ttft_ms"] = percentile(ttft_ms, 99);
  j["mean_tpot_ms"] = mean(tpot_ms);
  j["mean_e2e_ms"] = mean(e2e_ms);
  j["steps"] = steps;
  j["mean_prefill_tokens_per_step"] =
      per_step(after.num_prefill_tokens - before.num_prefill_tokens);
  j["mean_decode_tokens_per_step"] = per_step(after.num_decode_tokens - before.num_decode_tokens);
  j["mean_verify_tokens_per_step"] = per_step(after.num_verify_tokens - before.num_verify_tokens);
  j["mean_step_ms"] =
      steps > 0 ? (after.total_step_time_s - before.total_step_time_s) * 1e3 / steps : 0.0;
  const double step_s = after.total_step_time_s - before.total_step_time_s;
  const double forward_s = after.total_forward_time_s - before.total_forward_time_s;
  j["engine_overhead_fraction"] = step_s > 0 ? (step_s - forward_s) / step_s : 0.0;
  j["preemptions"] = after.num_preemptions - before.num_preemptions;
  j["prefix_cache_hit_rate"] = queries > 0 ? static_cast<double>(hits) / queries : 0.0;
  j["spec_acceptance_rate"] = drafts > 0 ? static_cast<double>(accepted) / drafts : 0.0;
  j["max_num_batched_tokens"] = engine.config().max_num_batched_tokens;
  j["max_num_seqs"] = engine.config().max_num_seqs;
  j["kv_blocks"] = after.num_kv_blocks;
  j["kv_dtype"] = std::string(dtype_name(s.kv_dtype()));

  std::printf("Throughput: %.2f requests/s, %.2f total tokens/s, %.2f output tokens/s\n",
              num_requests / elapsed, (prompt_tokens + output_tokens) / elapsed,
              output_tokens / elapsed);
  std::printf(
      "Requests: %d (%s prompts%s%s), %lld prompt + %lld output tokens in %.2f s (%.2f prompt "
      "tok/s)\n",
      num_requests, a.dataset.c_str(), a.trace.empty() ? "" : ", lengths of ", a.trace.c_str(),
      static_cast<long long>(prompt_tokens), static_cast<long long>(output_tokens), elapsed,
      prompt_tokens / elapsed);
  std::printf("Mean TTFT: %.1f ms (p99 %.1f ms)   Mean TPOT: %.1f ms   Mean E2E: %.1f ms\n",
              mean(ttft_ms), percentile(ttft_ms, 99), mean(tpot_ms), mean(e2e_ms));
  std::printf("Steps: %lld, mean step %.1f ms, mean composition P/D/V = %.1f/%.1f/%.1f tokens\n",
              static_cast<long long>(steps), j["mean_step_ms"].get<double>(),
              j["mean_prefill_tokens_per_step"].get<double>(),
              j["mean_decode_tokens_per_step"].get<double>(),
              j["mean_verify_tokens_per_step"].get<double>());
  std::printf("Engine overhead (step time outside model.forward): %.2f%%\n",
              100.0 * j["engine_overhead_fraction"].get<double>());
  std::printf(
      "Budget %d tokens, %d seqs; preemptions %lld; prefix hit rate %.3f; acceptance %.3f\n",
      engine.config().max_num_batched_tokens, engine.config().max_num_seqs,
      static_cast<long long>(j["preemptions"].get<int64_t>()),
      j["prefix_cache_hit_rate"].get<double>(), j["spec_acceptance_rate"].get<double>());
  if (!a.output_json.empty()) {
    std::ofstream out(a.output_json);
    out << j.dump(2) << "\n";
    if (!out) return fail(io_error("cannot write " + a.output_json));
  }
  return 0;
}

}  // namespace

CommandRunner add_bench_offline_command(CLI::App& bench) {
  auto a = std::make_shared<BenchOfflineArgs>();
  CLI::App* cmd = bench.add_subcommand(
      "offline", "Engine throughput without a server: N requests submitted at once");
  cmd->add_option("--model", a->session.model_dir, "Hugging Face checkpoint directory")->required();
  cmd->add_option("--num-prompts", a->num_prompts, "Requests")->capture_default_str();
  cmd->add_option("--input-len", a->input_len, "Prompt tokens per request")->capture_default_str();
  cmd->add_option("--output-len", a->output_len, "Generated tokens per request (ignore_eos)")
      ->capture_default_str();
  cmd->add_option("--prefix-len", a->prefix_len, "Leading prompt tokens shared by all requests")
      ->capture_default_str();
  cmd->add_option("--dataset-like", a->dataset,
                  "Prompt source: random (token ids) | arena-hard (cut from the shipped Arena-Hard "
                  "prompts) | text (cut from --dataset-path)")
      ->capture_default_str();
  cmd->add_option("--dataset-path", a->dataset_path,
                  "Corpus for --dataset-like text: .jsonl rows {\"prompt\": ...} or plain text");
  cmd->add_option("--trace", a->trace,
                  "Take prompt/output lengths (and Mooncake shared prefixes) of the first "
                  "--num-prompts requests of a trace: azure-conv, azure-code, mooncake-conv, "
                  "mooncake-synthetic, or a .csv/.jsonl file");
  cmd->add_option("--seed", a->seed, "Seed of the prompts (random ids or where text is cut)")
      ->capture_default_str();
  cmd->add_option("--output-json", a->output_json, "Also write the results as JSON");
  add_model_flags(*cmd, a->session);
  add_engine_flags(*cmd, a->engine);
  return [a]() { return run_bench_offline(*a); };
}

}  // namespace xy::cli
