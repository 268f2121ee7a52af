#include "server/server_metrics.h"

namespace xy::server {
namespace {

// vLLM's bucket boundaries for the same histograms (seconds / tokens).
const std::vector<double> kTtftBuckets = {0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                          0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                          20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
const std::vector<double> kItlBuckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                         0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
const std::vector<double> kLatencyBuckets = {0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                             5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                             60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
const std::vector<double> kStepBuckets = {0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                          0.15,  0.2,  0.3,  0.5,  1.0,  2.0,  5.0};
const std::vector<double> kTokenBuckets = {1,   2,    5,    10,   20,    50,    100,   200,
                                           500, 1000, 2000, 5000, 10000, 20000, 50000, 100000};
const std::vector<double> kStepTokenBuckets = {0,  1,   2,   4,   8,    16,   32,
                                               64, 128, 256, 512, 1024, 2048, 4096};

}  // namespace

ServerMetrics::ServerMetrics(const std::string& model_name)
    : reg_("model_name=\"" + escape_label_value(model_name) + "\"") {
  running_ =
      reg_.gauge("xyserve:num_requests_running", "Number of requests in model execution batches.");
  waiting_ =
      reg_.gauge("xyserve:num_requests_waiting", "Number of requests waiting to be processed.");
  kv_usage_ =
      reg_.gauge("xyserve:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.");
  kv_used_blocks_ =
      reg_.gauge("xyserve:kv_cache_used_blocks",
                 "KV blocks referenced by live requests (cached, unreferenced blocks excluded).");
  kv_total_blocks_ = reg_.gauge("xyserve:kv_cache_total_blocks", "KV blocks in the pool.");
  connections_ = reg_.gauge("xyserve:http_connections", "Open HTTP connections.");
  in_flight_ =
      reg_.gauge("xyserve:http_requests_in_flight", "Generation requests the server is serving.");
  budget_ = reg_.gauge("xyserve:max_num_batched_tokens", "Token budget of one engine step.");

  prefix_queries_ = reg_.counter("xyserve:prefix_cache_queries_total",
                                 "Prefix cache queries, in terms of number of queried tokens.");
  prefix_hits_ = reg_.counter("xyserve:prefix_cache_hits_total",
                              "Prefix cache hits, in terms of number of cached tokens.");
  preemptions_ = reg_.counter("xyserve:num_preemptions_total", "Cumulative number of preemptions.");
  prompt_tokens_ =
      reg_.counter("xyserve:prompt_tokens_total", "Number of prefill tokens processed.");
  generation_tokens_ =
      reg_.counter("xyserve:generation_tokens_total", "Number of generation tokens processed.");
  steps_ = reg_.counter("xyserve:engine_steps_total", "Engine steps run.");
  step_p_tokens_ = reg_.counter("xyserve:step_prefill_tokens_total",
                                "Prefill tokens run in engine steps (including recompute).");
  step_d_tokens_ =
      reg_.counter("xyserve:step_decode_tokens_total", "Decode tokens run in engine steps.");
  step_v_tokens_ = reg_.counter("xyserve:step_verify_tokens_total",
                                "Verify-segment tokens run in engine steps.");
  draft_tokens_ = reg_.counter("xyserve:spec_decode_num_draft_tokens_total",
                               "Number of draft tokens verified.");
  accepted_tokens_ = reg_.counter("xyserve:spec_decode_num_accepted_tokens_total",
                                  "Number of accepted draft tokens.");

  ttft_ = reg_.histogram("xyserve:time_to_first_token_seconds",
                         "Histogram of time to first token in seconds.", kTtftBuckets);
  itl_ = reg_.histogram("xyserve:inter_token_latency_seconds",
                        "Histogram of inter-token latency in seconds.", kItlBuckets);
  e2e_ = reg_.histogram("xyserve:e2e_request_latency_seconds",
                        "Histogram of e2e request latency in seconds.", kLatencyBuckets);
  queue_ = reg_.histogram("xyserve:request_queue_time_seconds",
                          "Histogram of time spent in WAITING phase for request.", kLatencyBuckets);
  req_prompt_ = reg_.histogram("xyserve:request_prompt_tokens",
                               "Number of prefill tokens processed.", kTokenBuckets);
  req_gen_ = reg_.histogram("xyserve:request_generation_tokens",
                            "Number of generation tokens processed.", kTokenBuckets);
  req_cached_ =
      reg_.histogram("xyserve:request_prefix_cache_hit_tokens",
                     "Prompt tokens served from the prefix cache per request.", kTokenBuckets);
  step_time_ = reg_.histogram("xyserve:step_duration_seconds",
                              "Engine step duration (forward + sampling).", kStepBuckets);
  step_p_ = reg_.histogram("xyserve:step_prefill_tokens",
                           "Prefill tokens per engine step (P of the P/D/V composition).",
                           kStepTokenBuckets);
  step_d_ = reg_.histogram("xyserve:step_decode_tokens", "Decode tokens per engine step (D).",
                           kStepTokenBuckets);
  step_v_ = reg_.histogram("xyserve:step_verify_tokens", "Verify tokens per engine step (V).",
                           kStepTokenBuckets);
  step_total_ = reg_.histogram("xyserve:step_batched_tokens", "Tokens per engine step (P + D + V).",
                               kStepTokenBuckets);
  const char* http_help = "HTTP responses by status class.";
  http_2xx_ = reg_.labeled_counter("xyserve:http_responses_total", http_help, "status", "2xx");
  http_4xx_ = reg_.labeled_counter("xyserve:http_responses_total", http_help, "status", "4xx");
  http_429_ = reg_.labeled_counter("xyserve:http_responses_total", http_help, "status", "429");
  http_5xx_ = reg_.labeled_counter("xyserve:http_responses_total", http_help, "status", "5xx");
  for (const char* r : {"stop", "length", "abort", "error"})
    reg_.labeled_counter("xyserve:request_success_total",
                         "Count of finished requests by finish reason.", "finished_reason", r);
}

void ServerMetrics::on_request_finished(const RequestRecord& r) {
  {
    std::lock_guard<std::mutex> lock(finish_mu_);
    reg_.labeled_counter("xyserve:request_success_total", "", "finished_reason", r.finish_reason)
        ->inc();
  }
  if (r.ttft_s >= 0) ttft_->observe(r.ttft_s);
  for (double gap : r.inter_token_s) itl_->observe(gap);
  e2e_->observe(r.e2e_s);
  if (r.queue_time_s >= 0) queue_->observe(r.queue_time_s);
  req_prompt_->observe(r.prompt_tokens);
  req_gen_->observe(r.generation_tokens);
  req_cached_->observe(r.cached_tokens);
  live_.on_request_finished(r.ttft_s, r.e2e_s, r.generation_tokens);
}

void ServerMetrics::on_http_response(int status) {
  if (status == 429)
    http_429_->inc();
  else if (status >= 500)
    http_5xx_->inc();
  else if (status >= 400)
    http_4xx_->inc();
  else
    http_2xx_->inc();
}

void ServerMetrics::on_engine_stats(const EngineStats& prev, const EngineStats& cur) {
  const int64_t steps = cur.num_steps - prev.num_steps;
  if (steps <= 0) return;
  live_.on_engine_stats(prev, cur);
  if (steps == 1) {
    step_time_->observe(cur.last_step_time_s);
    step_p_->observe(cur.last_step_prefill_tokens);
    step_d_->observe(cur.last_step_decode_tokens);
    step_v_->observe(cur.last_step_verify_tokens);
    step_total_->observe(cur.last_step_prefill_tokens + cur.last_step_decode_tokens +
                         cur.last_step_verify_tokens);
    return;
  }
  // Several steps passed between two observations: record each as the average of the interval,
  // so counts and sums stay exact even when individual shapes are unknown.
  const double n = double(steps);
  const double t = (cur.total_step_time_s - prev.total_step_time_s) / n;
  const double p = double(cur.num_prefill_tokens - prev.num_prefill_tokens) / n;
  const double d = double(cur.num_decode_tokens - prev.num_decode_tokens) / n;
  const double v = double(cur.num_verify_tokens - prev.num_verify_tokens) / n;
  for (int64_t i = 0; i < steps; ++i) {
    step_time_->observe(t);
    step_p_->observe(p);
    step_d_->observe(d);
    step_v_->observe(v);
    step_total_->observe(p + d + v);
  }
}

FinishedCounts ServerMetrics::finished_counts() {
  std::lock_guard<std::mutex> lock(finish_mu_);  // labeled_counter lookup
  const auto count = [&](const char* reason) {
    return int64_t(
        reg_.labeled_counter("xyserve:request_success_total", "", "finished_reason", reason)
            ->value());
  };
  return {count("stop"), count("length"), count("abort"), count("error")};
}

std::string ServerMetrics::render(const EngineStats& e, int used_kv_blocks, int open_connections,
                                  int requests_in_flight) {
  std::lock_guard<std::mutex> lock(finish_mu_);  // labeled_counter creation below
  running_->set(e.num_running);
  waiting_->set(e.num_waiting);
  kv_usage_->set(e.kv_cache_usage());
  kv_used_blocks_->set(used_kv_blocks);
  kv_total_blocks_->set(e.num_kv_blocks);
  connections_->set(open_connections);
  in_flight_->set(requests_in_flight);
  budget_->set(e.max_num_batched_tokens);
  prefix_queries_->set_total(double(e.prefix_cache_queries));
  prefix_hits_->set_total(double(e.prefix_cache_hits));
  preemptions_->set_total(double(e.num_preemptions));
  prompt_tokens_->set_total(double(e.num_prompt_tokens));
  generation_tokens_->set_total(double(e.num_generated_tokens));
  steps_->set_total(double(e.num_steps));
  step_p_tokens_->set_total(double(e.num_prefill_tokens));
  step_d_tokens_->set_total(double(e.num_decode_tokens));
  step_v_tokens_->set_total(double(e.num_verify_tokens));
  draft_tokens_->set_total(double(e.num_draft_tokens));
  accepted_tokens_->set_total(double(e.num_accepted_tokens));
  // Per draft position (vLLM's spec_decode_num_accepted_tokens_per_pos), when a proposer runs.
  for (size_t i = 0; i < e.spec.accepted_at.size(); ++i) {
    const std::string pos = std::to_string(i);
    reg_.labeled_counter("xyserve:spec_decode_num_accepted_tokens_per_pos_total",
                         "Accepted draft tokens by draft position.", "position", pos)
        ->set_total(double(e.spec.accepted_at[i]));
    if (i < e.spec.proposed_at.size()) {
      reg_.labeled_counter("xyserve:spec_decode_num_draft_tokens_per_pos_total",
                           "Verified draft tokens by draft position.", "position", pos)
          ->set_total(double(e.spec.proposed_at[i]));
    }
  }
  return reg_.render();
}

}  // namespace xy::server
