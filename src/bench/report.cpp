#include "bench/report.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace xy::bench {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string row(const std::string& name, const std::string& value) {
  std::string r = name;
  if (r.size() < 34) r.append(34 - r.size(), ' ');
  return r + value + "\n";
}

nlohmann::json dist_json(const Distribution& d) {
  return {{"n", d.n},     {"mean", d.mean}, {"min", d.min}, {"p50", d.p50},
          {"p90", d.p90}, {"p99", d.p99},   {"max", d.max}};
}

}  // namespace

std::string format_table(const RunInfo& info, const Summary& s) {
  std::string t;
  t += "============ Serving Benchmark Result ============\n";
  t += row("Target:", info.url + " (" + info.model + ", " + info.endpoint + ")");
  t += row("Trace / arrivals:", info.trace + ", " + info.rate);
  t += row("Max concurrency:", info.max_concurrency > 0 ? std::to_string(info.max_concurrency)
                                                        : std::string("unlimited"));
  t += row("Successful requests:", std::to_string(s.completed) + " / " + std::to_string(s.total));
  t += row("Failed requests:", std::to_string(s.failed));
  t += row("Benchmark duration (s):", fmt("%.2f", s.duration_s));
  t += row("Total input tokens:", std::to_string(s.input_tokens));
  t += row("Total generated tokens:", std::to_string(s.output_tokens));
  t += row("Request throughput (req/s):", fmt("%.2f", s.request_throughput));
  t += row("Output token throughput (tok/s):", fmt("%.2f", s.output_throughput));
  t += row("Total token throughput (tok/s):", fmt("%.2f", s.total_throughput));
  std::string slo = "TTFT <= " + (s.slo.ttft_ms > 0 ? fmt("%.0f ms", s.slo.ttft_ms) : "any") +
                    ", TPOT <= " + (s.slo.tpot_ms > 0 ? fmt("%.0f ms", s.slo.tpot_ms) : "any");
  t += row("Goodput (req/s):", fmt("%.2f", s.goodput) + "  (" + std::to_string(s.good_requests) +
                                   " requests within " + slo + ")");
  t += "-------------------------------------------------------------------------\n";
  t += "metric (ms)          mean       p50       p90       p99       max        n\n";
  auto line = [&](const char* name, const Distribution& d) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%-14s %10.2f%10.2f%10.2f%10.2f%10.2f %8zu\n", name, d.mean,
                  d.p50, d.p90, d.p99, d.max, d.n);
    t += buf;
  };
  line("TTFT", s.ttft_ms);
  line("TPOT", s.tpot_ms);
  line("ITL", s.itl_ms);
  line("E2E latency", s.e2e_ms);
  if (!s.errors.empty()) {
    t += "-------------------------------------------------------------------------\n";
    t += "errors:\n";
    for (const auto& [msg, n] : s.errors) t += "  " + std::to_string(n) + "x " + msg + "\n";
  }
  t += "=========================================================================\n";
  return t;
}

std::string format_json(const RunInfo& info, const Summary& s,
                        std::span<const RequestRecord> records) {
  nlohmann::json j;
  j["run"] = {{"url", info.url},
              {"model", info.model},
              {"endpoint", info.endpoint},
              {"trace", info.trace},
              {"rate", info.rate},
              {"max_concurrency", info.max_concurrency},
              {"started_utc", info.started_utc}};
  j["summary"] = {{"duration_s", s.duration_s},
                  {"total_requests", s.total},
                  {"completed", s.completed},
                  {"failed", s.failed},
                  {"input_tokens", s.input_tokens},
                  {"output_tokens", s.output_tokens},
                  {"request_throughput", s.request_throughput},
                  {"output_throughput", s.output_throughput},
                  {"total_throughput", s.total_throughput},
                  {"ttft_ms", dist_json(s.ttft_ms)},
                  {"tpot_ms", dist_json(s.tpot_ms)},
                  {"itl_ms", dist_json(s.itl_ms)},
                  {"e2e_ms", dist_json(s.e2e_ms)},
                  {"slo", {{"ttft_ms", s.slo.ttft_ms}, {"tpot_ms", s.slo.tpot_ms}}},
                  {"good_requests", s.good_requests},
                  {"goodput", s.goodput},
                  {"errors", s.errors}};
  nlohmann::json tl = nlohmann::json::array();
  for (const auto& b : s.timeline)
    tl.push_back({{"t_s", b.t_s},
                  {"output_tok_per_s", b.output_tok_per_s},
                  {"completed_per_s", b.completed_per_s},
                  {"in_flight", b.in_flight}});
  j["timeline"] = {{"bucket_s", s.bucket_s}, {"buckets", tl}};
  nlohmann::json rs = nlohmann::json::array();
  for (const auto& r : records) {
    nlohmann::json o = {{"index", r.index},
                        {"scheduled_s", r.scheduled_s},
                        {"sent_s", r.sent_s},
                        {"ok", r.ok},
                        {"prompt_tokens", r.prompt_tokens},
                        {"output_tokens", r.output_tokens},
                        {"expected_output_tokens", r.expected_output_tokens},
                        {"ttft_ms", r.ttft_s * 1e3},
                        {"tpot_ms", tpot_s(r) * 1e3},
                        {"e2e_ms", r.e2e_s * 1e3}};
    if (!r.ok) o["error"] = r.error;
    rs.push_back(std::move(o));
  }
  j["requests"] = std::move(rs);
  return j.dump(2) + "\n";
}

}  // namespace xy::bench
