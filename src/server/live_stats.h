// Recent-window statistics for the dashboard (GET /stats): what a person watching the server
// wants to see now, not since start. Prometheus keeps cumulative histograms for that purpose
// (rates and quantiles are computed by the scraper); a browser polling once a second needs the
// window computed here:
//   * the last kMaxRecentSteps engine steps' prefill/decode/verify token mix and duration;
//   * token throughput over the last throughput window (from engine counter samples);
//   * TTFT / TPOT / E2E percentiles of the requests that finished in the last latency window;
// Fed by ServerMetrics (the stream pump's step observations, finished requests).
// Thread-safe: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine_stats.h"

namespace xy::server {

struct LiveStatsOptions {
  double throughput_window_s = 5.0;
  double latency_window_s = 60.0;
  size_t max_latency_samples = 4096;  // finished requests kept for percentiles
};

// One observation of the step counter moving (n steps merged when the pump saw several at once).
struct StepSample {
  double t_s = 0.0;                                  // seconds since the LiveStats started
  int64_t n = 1;                                     // engine steps this sample stands for
  double prefill = 0.0, decode = 0.0, verify = 0.0;  // tokens per step (averages when n > 1)
  double time_s = 0.0;                               // duration per step
};

// Finished requests by finish reason since start.
struct FinishedCounts {
  int64_t stop = 0, length = 0, abort = 0, error = 0;
};

struct Percentiles {
  std::optional<double> p50, p90, p99;  // empty when no sample
};

struct LiveSnapshot {
  double uptime_s = 0.0;
  std::vector<StepSample> recent_steps;  // oldest first, at most kMaxRecentSteps
  double window_s = 0.0;                 // span the rates below were measured over
  double output_tokens_per_s = 0.0;
  double prefill_tokens_per_s = 0.0;
  double steps_per_s = 0.0;
  double latency_window_s = 0.0;
  int latency_requests = 0;  // finished in the latency window
  Percentiles ttft_s, tpot_s, e2e_s;
};

// Nearest-rank percentile of an unsorted sample (copied): q in [0, 1].
double percentile(std::vector<double> values, double q);

class LiveStats {
 public:
  static constexpr size_t kMaxRecentSteps = 128;
  using Clock = std::chrono::steady_clock;

  explicit LiveStats(LiveStatsOptions options = {});

  // The engine's step counter moved from `prev` to `cur` (the stream pump's observation).
  void on_engine_stats(const EngineStats& prev, const EngineStats& cur);
  // A request finished. ttft_s < 0: no token; tpot from the gaps between its tokens.
  void on_request_finished(double ttft_s, double e2e_s, int generation_tokens);
  // `now_stats`: a fresh Engine::stats(), the right end of the throughput window.
  LiveSnapshot snapshot(const EngineStats& now_stats) const;

  // For tests: the clock the windows are measured on.
  void set_clock_for_testing(std::function<Clock::time_point()> now);

 private:
  struct CounterSample {
    double t_s;
    int64_t generated, prefill, steps;
  };
  struct FinishedSample {
    double t_s, ttft_s, tpot_s, e2e_s;  // ttft/tpot < 0: not defined for this request
  };
  double seconds_now() const;

  LiveStatsOptions options_;
  Clock::time_point start_;
  std::function<Clock::time_point()> now_;
  mutable std::mutex mu_;
  std::deque<StepSample> steps_;        // [<= kMaxRecentSteps]
  std::deque<CounterSample> counters_;  // engine totals at each observation, oldest first
  std::deque<FinishedSample> finished_;
};

}  // namespace xy::server
