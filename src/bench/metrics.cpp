#include "bench/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace xy::bench {

double tpot_s(const RequestRecord& r) {
  return r.output_tokens > 1 ? (r.e2e_s - r.ttft_s) / (r.output_tokens - 1) : 0.0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

Distribution distribution(std::span<const double> values) {
  Distribution d;
  d.n = values.size();
  if (values.empty()) return d;
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  d.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  d.min = v.front();
  d.max = v.back();
  d.p50 = percentile(v, 50);
  d.p90 = percentile(v, 90);
  d.p99 = percentile(v, 99);
  return d;
}

Summary summarize(std::span<const RequestRecord> records, double duration_s, Slo slo) {
  Summary s;
  s.slo = slo;
  s.duration_s = duration_s;
  s.total = static_cast<int>(records.size());
  std::vector<double> ttft, tpot, itl, e2e;
  for (const auto& r : records) {
    if (!r.ok) {
      ++s.failed;
      ++s.errors[r.error.empty() ? "unknown error" : r.error];
      continue;
    }
    ++s.completed;
    s.input_tokens += r.prompt_tokens;
    s.output_tokens += r.output_tokens;
    ttft.push_back(r.ttft_s * 1e3);
    e2e.push_back(r.e2e_s * 1e3);
    const double tp = tpot_s(r) * 1e3;
    if (r.output_tokens > 1) tpot.push_back(tp);
    for (double g : r.itl_s) itl.push_back(g * 1e3);
    const bool ttft_ok = slo.ttft_ms <= 0 || r.ttft_s * 1e3 <= slo.ttft_ms;
    const bool tpot_ok = slo.tpot_ms <= 0 || tp <= slo.tpot_ms;
    if (ttft_ok && tpot_ok) ++s.good_requests;
  }
  s.ttft_ms = distribution(ttft);
  s.tpot_ms = distribution(tpot);
  s.itl_ms = distribution(itl);
  s.e2e_ms = distribution(e2e);
  if (duration_s > 0) {
    s.request_throughput = s.completed / duration_s;
    s.output_throughput = static_cast<double>(s.output_tokens) / duration_s;
    s.total_throughput = static_cast<double>(s.input_tokens + s.output_tokens) / duration_s;
    s.goodput = s.good_requests / duration_s;
  }
  // Timeline: about 100 buckets, never narrower than 0.25 s.
  s.bucket_s = std::max(0.25, duration_s / 100.0);
  const size_t nb = duration_s > 0 ? static_cast<size_t>(std::ceil(duration_s / s.bucket_s)) : 0;
  s.timeline.resize(nb);
  for (size_t b = 0; b < nb; ++b) s.timeline[b].t_s = static_cast<double>(b) * s.bucket_s;
  auto bucket_of = [&](double t) {
    return std::min(nb - 1, static_cast<size_t>(std::max(0.0, t) / s.bucket_s));
  };
  if (nb > 0) {
    for (const auto& r : records) {
      for (const auto& c : r.chunks) s.timeline[bucket_of(c.t_s)].output_tok_per_s += c.tokens;
      const double end = r.sent_s + r.e2e_s;
      if (r.ok) s.timeline[bucket_of(end)].completed_per_s += 1;
      for (auto& b : s.timeline)
        if (r.sent_s <= b.t_s && b.t_s < end) ++b.in_flight;
    }
    for (auto& b : s.timeline) {
      b.output_tok_per_s /= s.bucket_s;
      b.completed_per_s /= s.bucket_s;
    }
  }
  return s;
}

}  // namespace xy::bench
