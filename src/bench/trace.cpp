#include "bench/trace.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace xy::bench {
namespace {

std::string line_error(std::string_view source, size_t line, std::string_view what) {
  return std::string(source) + ":" + std::to_string(line) + ": " + std::string(what);
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool parse_uint(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

// "YYYY-MM-DD HH:MM:SS[.fffffff]" -> seconds since the epoch (no time zone in the file).
bool parse_timestamp(std::string_view s, double& out) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
      s[13] != ':' || s[16] != ':')
    return false;
  int64_t y, mo, d, h, mi, se;
  if (!parse_uint(s.substr(0, 4), y) || !parse_uint(s.substr(5, 2), mo) ||
      !parse_uint(s.substr(8, 2), d) || !parse_uint(s.substr(11, 2), h) ||
      !parse_uint(s.substr(14, 2), mi) || !parse_uint(s.substr(17, 2), se))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
  double frac = 0;
  if (s.size() > 19) {
    if (s[19] != '.' || s.size() == 20) return false;
    double scale = 0.1;
    for (char c : s.substr(20)) {
      if (c < '0' || c > '9') return false;
      frac += (c - '0') * scale;
      scale /= 10;
    }
  }
  out = static_cast<double>(
            days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
            h * 3600 + mi * 60 + se) +
        frac;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// Calls fn(line_number, line) for every non-empty line; stops at the first error.
template <class Fn>
Status for_each_line(std::string_view text, Fn&& fn) {
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty()) continue;
    XY_RETURN_IF_ERROR(fn(line_no, line));
  }
  return Status::ok();
}

void sort_and_rebase(Trace& trace) {
  std::stable_sort(
      trace.requests.begin(), trace.requests.end(),
      [](const TraceRequest& a, const TraceRequest& b) { return a.arrival_s < b.arrival_s; });
  if (trace.requests.empty()) return;
  const double t0 = trace.requests.front().arrival_s;
  for (auto& r : trace.requests) r.arrival_s -= t0;
}

}  // namespace

Result<Trace> parse_azure_csv(std::string_view text, std::string_view source) {
  Trace trace;
  bool header_seen = false;
  Status st = for_each_line(text, [&](size_t line_no, std::string_view line) -> Status {
    if (!header_seen) {
      header_seen = true;
      if (line != "TIMESTAMP,ContextTokens,GeneratedTokens")
        return format_error(line_error(
            source, line_no, "expected header 'TIMESTAMP,ContextTokens,GeneratedTokens'"));
      return Status::ok();
    }
    const size_t c1 = line.find(','), c2 = line.find(',', c1 + 1);
    if (c1 == std::string_view::npos || c2 == std::string_view::npos ||
        line.find(',', c2 + 1) != std::string_view::npos)
      return format_error(line_error(source, line_no, "expected 3 comma-separated fields"));
    TraceRequest r;
    int64_t in = 0, out = 0;
    if (!parse_timestamp(trim(line.substr(0, c1)), r.arrival_s))
      return format_error(
          line_error(source, line_no, "bad TIMESTAMP '" + std::string(line.substr(0, c1)) + "'"));
    if (!parse_uint(trim(line.substr(c1 + 1, c2 - c1 - 1)), in) || in > (1 << 30))
      return format_error(line_error(source, line_no, "bad ContextTokens"));
    if (!parse_uint(trim(line.substr(c2 + 1)), out) || out > (1 << 30))
      return format_error(line_error(source, line_no, "bad GeneratedTokens"));
    r.input_tokens = static_cast<int>(in);
    r.output_tokens = static_cast<int>(out);
    trace.requests.push_back(std::move(r));
    return Status::ok();
  });
  if (!st) return st;
  if (!header_seen) return format_error(std::string(source) + ": empty trace (no header)");
  sort_and_rebase(trace);
  return trace;
}

Result<Trace> parse_mooncake_jsonl(std::string_view text, std::string_view source) {
  Trace trace;
  Status st = for_each_line(text, [&](size_t line_no, std::string_view line) -> Status {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      return format_error(line_error(source, line_no, "not a JSON object"));
    auto get_int = [&](const char* key, int64_t& out) -> Status {
      auto it = j.find(key);
      if (it == j.end())
        return format_error(line_error(source, line_no, std::string("missing '") + key + "'"));
      if (!it->is_number_integer() || it->get<int64_t>() < 0)
        return format_error(line_error(
            source, line_no, std::string("'") + key + "' must be a non-negative integer"));
      out = it->get<int64_t>();
      return Status::ok();
    };
    int64_t ts = 0, in = 0, out = 0;
    XY_RETURN_IF_ERROR(get_int("timestamp", ts));
    XY_RETURN_IF_ERROR(get_int("input_length", in));
    XY_RETURN_IF_ERROR(get_int("output_length", out));
    if (in > (1 << 30) || out > (1 << 30))
      return format_error(line_error(source, line_no, "length out of range"));
    TraceRequest r;
    r.arrival_s = static_cast<double>(ts) / 1000.0;
    r.input_tokens = static_cast<int>(in);
    r.output_tokens = static_cast<int>(out);
    auto h = j.find("hash_ids");
    if (h != j.end()) {
      if (!h->is_array())
        return format_error(line_error(source, line_no, "'hash_ids' must be an array"));
      for (const auto& v : *h) {
        if (!v.is_number_integer())
          return format_error(line_error(source, line_no, "'hash_ids' must hold integers"));
        r.hash_ids.push_back(v.get<int64_t>());
      }
      const size_t want = static_cast<size_t>((in + kHashBlockTokens - 1) / kHashBlockTokens);
      if (r.hash_ids.size() != want)
        return format_error(line_error(source, line_no,
                                       "'hash_ids' has " + std::to_string(r.hash_ids.size()) +
                                           " ids, expected ceil(" + std::to_string(in) +
                                           " / 512) = " + std::to_string(want)));
    }
    trace.requests.push_back(std::move(r));
    return Status::ok();
  });
  if (!st) return st;
  sort_and_rebase(trace);
  return trace;
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open (" + std::string(std::strerror(errno)) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return io_error(path + ": read failed");
  return ss.str();
}

std::string default_data_dir() {
  if (const char* env = std::getenv("XYSERVE_DATA_DIR"); env && *env) return env;
  return XY_BENCH_DATA_DIR;
}

Result<Trace> load_trace(const std::string& name_or_path, const std::string& data_dir) {
  struct Named {
    const char* name;
    const char* file;
  };
  static constexpr Named kNamed[] = {
      {"azure-conv", "traces/azure-llm/AzureLLMInferenceTrace_conv.csv"},
      {"azure-code", "traces/azure-llm/AzureLLMInferenceTrace_code.csv"},
      {"mooncake-conv", "traces/mooncake/conversation_trace.jsonl"},
      {"mooncake-synthetic", "traces/mooncake/synthetic_trace.jsonl"},
  };
  std::string path = name_or_path, name = name_or_path;
  bool named = false;
  for (const auto& n : kNamed) {
    if (name_or_path == n.name) {
      path = data_dir + "/" + n.file;
      named = true;
    }
  }
  const bool is_csv = path.size() > 4 && path.ends_with(".csv");
  const bool is_jsonl = path.size() > 6 && path.ends_with(".jsonl");
  if (!named && !is_csv && !is_jsonl)
    return invalid_argument("unknown trace '" + name_or_path +
                            "' (azure-conv, azure-code, mooncake-conv, mooncake-synthetic, "
                            "poisson, or a path to a .csv (Azure) / .jsonl (Mooncake) file)");
  XY_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  Result<Trace> trace = is_csv ? parse_azure_csv(text, path) : parse_mooncake_jsonl(text, path);
  if (trace) trace->name = name;
  return trace;
}

}  // namespace xy::bench
