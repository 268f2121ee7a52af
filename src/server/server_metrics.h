// The xyserve:* Prometheus metrics, named after vLLM's vllm:* metrics where the concept is the
// same (so existing dashboards work with a prefix change). Three sources feed them:
//   * per request, from the server when a request finishes (latencies, token counts);
//   * per engine step, from EngineStats deltas observed by the stream pump (step histograms);
//   * gauges and engine totals, refreshed from Engine::stats() when /metrics is scraped.
// The first two also feed LiveStats, the recent-window view the dashboard polls.
// Thread-safe: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine_stats.h"
#include "server/live_stats.h"
#include "server/metrics_registry.h"

namespace xy::server {

// One finished engine request (one choice), as the server saw it.
struct RequestRecord {
  int prompt_tokens = 0;
  int generation_tokens = 0;
  int cached_tokens = 0;
  double queue_time_s = -1.0;  // < 0 when unknown (aborted before being scheduled)
  double ttft_s = -1.0;        // arrival -> first token; < 0 when no token was produced
  double e2e_s = 0.0;
  std::vector<double> inter_token_s;  // gaps between consecutive tokens
  std::string finish_reason;          // "stop" | "length" | "abort" | "error"
};

class ServerMetrics {
 public:
  explicit ServerMetrics(const std::string& model_name);

  void on_request_finished(const RequestRecord& r);
  // A completed HTTP exchange: status code class per endpoint family is enough for alerts.
  void on_http_response(int status);
  // The pump saw the engine's step counter move from `prev` to `cur`.
  void on_engine_stats(const EngineStats& prev, const EngineStats& cur);
  // Scrape time: copies gauges and totals, then renders everything.
  std::string render(const EngineStats& engine, int used_kv_blocks, int open_connections,
                     int requests_in_flight);
  // xyserve:request_success_total by finish reason (the dashboard shows the same counters).
  FinishedCounts finished_counts();
  // The same observations over recent windows, for the dashboard (GET /stats).
  const LiveStats& live() const { return live_; }

 private:
  MetricsRegistry reg_;
  // gauges
  Gauge *running_, *waiting_, *kv_usage_, *kv_used_blocks_, *kv_total_blocks_, *connections_,
      *in_flight_, *budget_;
  // engine totals mirrored at scrape time
  Counter *prefix_queries_, *prefix_hits_, *preemptions_, *prompt_tokens_, *generation_tokens_,
      *steps_, *draft_tokens_, *accepted_tokens_, *step_p_tokens_, *step_d_tokens_, *step_v_tokens_;
  // request-level
  Histogram *ttft_, *itl_, *e2e_, *queue_, *req_prompt_, *req_gen_, *req_cached_;
  // step-level
  Histogram *step_time_, *step_p_, *step_d_, *step_v_, *step_total_;
  Counter *http_2xx_, *http_4xx_, *http_429_, *http_5xx_;
  std::mutex finish_mu_;  // labeled_counter creation
  LiveStats live_;
};

}  // namespace xy::server
