#include "server/live_stats.h"

#include <algorithm>
#include <cmath>

namespace xy::server {
namespace {

// Engine-total samples kept at most (a window at thousands of steps per second stays bounded).
constexpr size_t kMaxCounterSamples = 1 << 15;

Percentiles percentiles_of(const std::vector<double>& v) {
  Percentiles p;
  if (v.empty()) return p;
  p.p50 = percentile(v, 0.50);
  p.p90 = percentile(v, 0.90);
  p.p99 = percentile(v, 0.99);
  return p;
}

}  // namespace

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  // Nearest rank: the smallest value with at least q of the sample at or below it.
  const size_t n = values.size();
  size_t rank = size_t(std::ceil(q * double(n)));
  rank = std::clamp<size_t>(rank, 1, n);
  std::nth_element(values.begin(), values.begin() + long(rank - 1), values.end());
  return values[rank - 1];
}

LiveStats::LiveStats(LiveStatsOptions options)
    : options_(options), start_(Clock::now()), now_([] { return Clock::now(); }) {}

void LiveStats::set_clock_for_testing(std::function<Clock::time_point()> now) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = std::move(now);
  start_ = now_();
}

double LiveStats::seconds_now() const {
  return std::chrono::duration<double>(now_() - start_).count();
}

void LiveStats::on_engine_stats(const EngineStats& prev, const EngineStats& cur) {
  const int64_t steps = cur.num_steps - prev.num_steps;
  if (steps <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  const double t = seconds_now();
  StepSample s;
  s.t_s = t;
  s.n = steps;
  if (steps == 1) {
    s.prefill = cur.last_step_prefill_tokens;
    s.decode = cur.last_step_decode_tokens;
    s.verify = cur.last_step_verify_tokens;
    s.time_s = cur.last_step_time_s;
  } else {
    const double n = double(steps);
    s.prefill = double(cur.num_prefill_tokens - prev.num_prefill_tokens) / n;
    s.decode = double(cur.num_decode_tokens - prev.num_decode_tokens) / n;
    s.verify = double(cur.num_verify_tokens - prev.num_verify_tokens) / n;
    s.time_s = (cur.total_step_time_s - prev.total_step_time_s) / n;
  }
  steps_.push_back(s);
  while (steps_.size() > kMaxRecentSteps) steps_.pop_front();

  // The totals before the first movement anchor the first window (the engine was idle before).
  if (counters_.empty())
    counters_.push_back({t, prev.num_generated_tokens, prev.num_prefill_tokens, prev.num_steps});
  counters_.push_back({t, cur.num_generated_tokens, cur.num_prefill_tokens, cur.num_steps});
  // Keep the newest sample at or before the window's start: it is the totals at that instant.
  while (counters_.size() > 2 && counters_[1].t_s <= t - options_.throughput_window_s)
    counters_.pop_front();
  while (counters_.size() > kMaxCounterSamples) counters_.pop_front();
}

void LiveStats::on_request_finished(double ttft_s, double e2e_s, int generation_tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  const double t = seconds_now();
  // TPOT as vLLM defines it: the decode time after the first token over the tokens after it.
  const double tpot =
      ttft_s >= 0 && generation_tokens > 1 ? (e2e_s - ttft_s) / double(generation_tokens - 1) : -1;
  finished_.push_back({t, ttft_s, tpot, e2e_s});
  while (finished_.size() > options_.max_latency_samples) finished_.pop_front();
}

LiveSnapshot LiveStats::snapshot(const EngineStats& now_stats) const {
  std::lock_guard<std::mutex> lock(mu_);
  LiveSnapshot s;
  const double t = seconds_now();
  s.uptime_s = t;
  s.recent_steps.assign(steps_.begin(), steps_.end());

  // Totals only move at observed steps, so the newest sample at or before the window's start is
  // the totals at that instant; with none that old, the oldest one (the engine was idle before).
  const double window = std::min(options_.throughput_window_s, t);
  s.window_s = window;
  const CounterSample* base = nullptr;
  for (const CounterSample& c : counters_) {
    if (base && c.t_s > t - window) break;
    base = &c;
  }
  if (base && window > 0) {
    s.output_tokens_per_s = double(now_stats.num_generated_tokens - base->generated) / window;
    s.prefill_tokens_per_s = double(now_stats.num_prefill_tokens - base->prefill) / window;
    s.steps_per_s = double(now_stats.num_steps - base->steps) / window;
  }

  s.latency_window_s = options_.latency_window_s;
  std::vector<double> ttft, tpot, e2e;
  for (const FinishedSample& f : finished_) {
    if (f.t_s < t - options_.latency_window_s) continue;
    ++s.latency_requests;
    if (f.ttft_s >= 0) ttft.push_back(f.ttft_s);
    if (f.tpot_s >= 0) tpot.push_back(f.tpot_s);
    e2e.push_back(f.e2e_s);
  }
  s.ttft_s = percentiles_of(ttft);
  s.tpot_s = percentiles_of(tpot);
  s.e2e_s = percentiles_of(e2e);
  return s;
}

}  // namespace xy::server
