#include "bench/trace_shaping.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace xy::bench {

Trace make_poisson_trace(int n, double rate, int input_tokens, int output_tokens, uint64_t seed) {
  Trace trace;
  trace.name = "poisson";
  std::mt19937_64 rng(seed);
  const bool burst = !(rate > 0) || std::isinf(rate);
  std::exponential_distribution<double> gap(burst ? 1.0 : rate);
  double t = 0;
  for (int i = 0; i < n; ++i) {
    TraceRequest r;
    r.arrival_s = burst ? 0.0 : t;
    r.input_tokens = input_tokens;
    r.output_tokens = output_tokens;
    trace.requests.push_back(r);
    if (!burst) t += gap(rng);
  }
  return trace;
}

void scale_rate(Trace& trace, double rate_scale) {
  for (auto& r : trace.requests) r.arrival_s /= rate_scale;
}

double mean_rate(const Trace& trace) {
  if (trace.requests.size() < 2) return 0;
  const double span = trace.requests.back().arrival_s - trace.requests.front().arrival_s;
  return span > 0 ? static_cast<double>(trace.requests.size()) / span : 0;
}

void set_mean_rate(Trace& trace, double rate) {
  const double current = mean_rate(trace);
  if (current > 0 && rate > 0) scale_rate(trace, rate / current);
}

void spread_bucketed_arrivals(Trace& trace, double bucket_s) {
  auto& rs = trace.requests;
  for (size_t i = 0; i < rs.size();) {
    size_t j = i;
    while (j < rs.size() && rs[j].arrival_s == rs[i].arrival_s) ++j;
    const double n = static_cast<double>(j - i);
    for (size_t k = i; k < j; ++k) rs[k].arrival_s += bucket_s * static_cast<double>(k - i) / n;
    i = j;
  }
}

void cut_trace(Trace& trace, double duration_s, int max_requests) {
  auto& rs = trace.requests;
  if (duration_s > 0) {
    auto it = std::find_if(rs.begin(), rs.end(),
                           [&](const TraceRequest& r) { return r.arrival_s >= duration_s; });
    rs.erase(it, rs.end());
  }
  if (max_requests > 0 && rs.size() > static_cast<size_t>(max_requests)) rs.resize(max_requests);
}

void override_lengths(Trace& trace, int input_tokens, int output_tokens) {
  for (auto& r : trace.requests) {
    if (input_tokens > 0) {
      r.input_tokens = input_tokens;
      r.hash_ids.clear();
    }
    if (output_tokens > 0) r.output_tokens = output_tokens;
  }
}

int clamp_to_context(Trace& trace, int max_model_len) {
  if (max_model_len <= 0) return 0;
  int clamped = 0;
  for (auto& r : trace.requests) {
    if (r.input_tokens + r.output_tokens <= max_model_len) continue;
    ++clamped;
    // The output (decode work) is kept; the prompt is shortened to what the context allows.
    r.output_tokens = std::max(1, std::min(r.output_tokens, max_model_len - 1));
    r.input_tokens = std::max(1, max_model_len - r.output_tokens);
    // Whole 512-token blocks still describe the shortened prompt's prefix.
    const size_t blocks =
        static_cast<size_t>((r.input_tokens + kHashBlockTokens - 1) / kHashBlockTokens);
    if (r.hash_ids.size() > blocks) r.hash_ids.resize(blocks);
  }
  return clamped;
}

}  // namespace xy::bench
