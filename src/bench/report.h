// The run report in three forms: a terminal table, JSON (summary + per-request records), and a
// self-contained HTML page with inline SVG (latency CDFs, throughput over time) that needs no
// script or network to view.
#pragma once

#include <span>
#include <string>

#include "bench/metrics.h"

namespace xy::bench {

// What was run, printed at the top of every report.
struct RunInfo {
  std::string url, model, endpoint, trace;
  std::string rate;         // e.g. "trace x2.0 (11.1 req/s)", "poisson 4 req/s", "burst"
  int max_concurrency = 0;  // 0 = unlimited
  std::string started_utc;  // ISO 8601
};

std::string format_table(const RunInfo& info, const Summary& s);
std::string format_json(const RunInfo& info, const Summary& s,
                        std::span<const RequestRecord> records);
std::string format_html(const RunInfo& info, const Summary& s,
                        std::span<const RequestRecord> records);

}  // namespace xy::bench
