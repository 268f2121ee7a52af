// The dashboard's JSON (GET /stats): engine gauges and totals from Engine::stats() plus the
// recent windows of LiveStats, in one object a browser can poll. The same counters as /metrics,
// so the page and a Prometheus dashboard never disagree. Schema (every number always present,
// percentiles and acceptance_rate null when there is nothing to measure):
//   model, max_model_len, device, uptime_s,
//   requests {running, waiting, in_flight, finished {stop, length, abort, error}},
//   kv_cache {usage, used_blocks, total_blocks, block_size, prefix_cache_queries,
//             prefix_cache_hits, prefix_cache_hit_rate},
//   throughput {window_s, output_tokens_per_s, prompt_tokens_per_s, steps_per_s},
//   totals {prompt_tokens, generation_tokens, steps, preemptions, requests_finished},
//   latency {window_s, requests, ttft_s {p50,p90,p99}, tpot_s {...}, e2e_s {...}},
//   steps {budget, max_num_seqs, recent [{t, n, p, d, v, time_s}]  (oldest first)},
//   spec {draft_tokens, accepted_tokens, acceptance_rate}
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/engine_stats.h"
#include "server/live_stats.h"

namespace xy::server {

struct StatsContext {
  std::string model;
  int max_model_len = 0;
  std::string device = "cpu";
  int requests_in_flight = 0;
  FinishedCounts finished;  // ServerMetrics::finished_counts()
};

nlohmann::json stats_json(const LiveSnapshot& live, const EngineStats& engine,
                          const StatsContext& context);

}  // namespace xy::server
