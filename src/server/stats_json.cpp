#include "server/stats_json.h"

namespace xy::server {
namespace {

using json = nlohmann::json;

json optional_number(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

json percentiles_json(const Percentiles& p) {
  return {{"p50", optional_number(p.p50)},
          {"p90", optional_number(p.p90)},
          {"p99", optional_number(p.p99)}};
}

}  // namespace

json stats_json(const LiveSnapshot& live, const EngineStats& e, const StatsContext& c) {
  const int used_blocks = e.num_kv_blocks - e.num_free_kv_blocks;
  json recent = json::array();
  for (const StepSample& s : live.recent_steps) {
    recent.push_back({{"t", s.t_s},
                      {"n", s.n},
                      {"p", s.prefill},
                      {"d", s.decode},
                      {"v", s.verify},
                      {"time_s", s.time_s}});
  }
  const json hit_rate = e.prefix_cache_queries > 0
                            ? json(double(e.prefix_cache_hits) / double(e.prefix_cache_queries))
                            : json(0.0);
  const json acceptance = e.num_draft_tokens > 0
                              ? json(double(e.num_accepted_tokens) / double(e.num_draft_tokens))
                              : json(nullptr);
  return {
      {"model", c.model},
      {"max_model_len", c.max_model_len},
      {"device", c.device},
      {"uptime_s", live.uptime_s},
      {"requests",
       {{"running", e.num_running},
        {"waiting", e.num_waiting},
        {"in_flight", c.requests_in_flight},
        {"finished",
         {{"stop", c.finished.stop},
          {"length", c.finished.length},
          {"abort", c.finished.abort},
          {"error", c.finished.error}}}}},
      {"kv_cache",
       {{"usage", e.kv_cache_usage()},
        {"used_blocks", used_blocks},
        {"total_blocks", e.num_kv_blocks},
        {"block_size", e.block_size},
        {"prefix_cache_queries", e.prefix_cache_queries},
        {"prefix_cache_hits", e.prefix_cache_hits},
        {"prefix_cache_hit_rate", hit_rate}}},
      {"throughput",
       {{"window_s", live.window_s},
        {"output_tokens_per_s", live.output_tokens_per_s},
        {"prompt_tokens_per_s", live.prefill_tokens_per_s},
        {"steps_per_s", live.steps_per_s}}},
      {"totals",
       {{"prompt_tokens", e.num_prompt_tokens},
        {"generation_tokens", e.num_generated_tokens},
        {"steps", e.num_steps},
        {"preemptions", e.num_preemptions},
        {"requests_finished", e.num_requests_finished}}},
      {"latency",
       {{"window_s", live.latency_window_s},
        {"requests", live.latency_requests},
        {"ttft_s", percentiles_json(live.ttft_s)},
        {"tpot_s", percentiles_json(live.tpot_s)},
        {"e2e_s", percentiles_json(live.e2e_s)}}},
      {"steps",
       {{"budget", e.max_num_batched_tokens},
        {"max_num_seqs", e.max_num_seqs},
        {"recent", std::move(recent)}}},
      {"spec",
       {{"draft_tokens", e.num_draft_tokens},
        {"accepted_tokens", e.num_accepted_tokens},
        {"acceptance_rate", acceptance}}},
  };
}

}  // namespace xy::server
