#include "router/replica_metrics.h"

#include <charconv>
#include <cstdlib>
#include <string>

namespace xy::router {

namespace {

// The metric name without its "xyserve:" or "vllm:" namespace, or "" for other metrics.
std::string_view local_name(std::string_view name) {
  for (std::string_view ns : {"xyserve:", "vllm:"}) {
    if (name.substr(0, ns.size()) == ns) return name.substr(ns.size());
  }
  return {};
}

}  // namespace

ReplicaLoad parse_replica_metrics(std::string_view text) {
  ReplicaLoad load;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    const std::string_view name = local_name(line.substr(0, name_end));
    if (name.empty()) continue;
    // The value follows the label set (which may contain spaces inside quotes).
    size_t value_at = name_end;
    if (line[name_end] == '{') {
      const size_t close = line.rfind('}');
      if (close == std::string_view::npos || close < name_end) continue;
      value_at = close + 1;
    }
    while (value_at < line.size() && line[value_at] == ' ') ++value_at;
    const std::string value_text(line.substr(value_at, line.find(' ', value_at) - value_at));
    char* parsed_end = nullptr;
    const double v = std::strtod(value_text.c_str(), &parsed_end);
    if (parsed_end == value_text.c_str()) continue;
    if (name == "instance_role") {
      // xyserve:instance_role{...,role="prefill"} 1: the role the instance started in.
      const size_t at = line.find("role=\"");
      if (v == 1 && at != std::string_view::npos) {
        const std::string_view rest = line.substr(at + 6);
        auto role = parse_role(rest.substr(0, rest.find('"')));
        if (role.is_ok()) load.reported_role = *role;
      }
      continue;
    }
    if (name == "num_requests_running")
      load.running += v;
    else if (name == "num_requests_waiting")
      load.waiting += v;
    else if (name == "kv_cache_usage_perc" || name == "gpu_cache_usage_perc")
      load.kv_usage += v;
    else if (name == "prefix_cache_queries_total" || name == "prefix_cache_queries")
      load.prefix_queries += v;
    else if (name == "prefix_cache_hits_total" || name == "prefix_cache_hits")
      load.prefix_hits += v;
    else if (name == "prompt_tokens_total")
      load.prompt_tokens += v;
    else if (name == "generation_tokens_total")
      load.generation_tokens += v;
  }
  return load;
}

}  // namespace xy::router
