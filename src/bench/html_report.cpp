// format_html(): the self-contained HTML report (inline SVG, inline CSS, no script).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/report.h"

namespace xy::bench {
namespace {

std::string esc(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string num(double v, int prec = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `n` ticks over [0, hi].
double nice_step(double hi, int n) {
  if (!(hi > 0)) return 1;
  const double raw = hi / n;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) >= 100) return num(v, 0);
  if (std::fabs(v) >= 1) return num(v, std::fabs(v - std::round(v)) < 1e-9 ? 0 : 1);
  std::string t = num(v, 3);  // 0.200 -> 0.2
  while (t.back() == '0') t.pop_back();
  return t;
}

struct Series {
  std::vector<std::pair<double, double>> pts;
  std::string color, label;
};

// A line plot over x in [0, x_hi], y in [0, y_hi]; `vline` (if > 0) marks an SLO.
std::string svg_plot(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                     const std::vector<Series>& series, double x_hi, double y_hi, double vline = 0,
                     bool step = false) {
  constexpr double W = 460, H = 280, L = 62, R = 14, T = 30, B = 44;
  const double pw = W - L - R, ph = H - T - B;
  if (!(x_hi > 0)) x_hi = 1;
  if (!(y_hi > 0)) y_hi = 1;
  const double xs = nice_step(x_hi, 5), ys = nice_step(y_hi, 5);
  x_hi = std::ceil(x_hi / xs - 1e-9) * xs;
  y_hi = std::ceil(y_hi / ys - 1e-9) * ys;
  auto X = [&](double x) { return L + pw * std::clamp(x / x_hi, 0.0, 1.0); };
  auto Y = [&](double y) { return T + ph * (1 - std::clamp(y / y_hi, 0.0, 1.0)); };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(W, 0) +
                  "\" height=\"" + num(H, 0) + "\" viewBox=\"0 0 " + num(W, 0) + " " + num(H, 0) +
                  "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s += "<text x=\"" + num(W / 2, 0) +
       "\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" "
       "font-weight=\"bold\">" +
       esc(title) + "</text>\n";
  for (double x = 0; x <= x_hi + 1e-9; x += xs) {
    s += "<line x1=\"" + num(X(x)) + "\" y1=\"" + num(T) + "\" x2=\"" + num(X(x)) + "\" y2=\"" +
         num(T + ph) + "\" stroke=\"#e4e4e4\"/>";
    s += "<text x=\"" + num(X(x)) + "\" y=\"" + num(T + ph + 15) + "\" text-anchor=\"middle\">" +
         tick_label(x) + "</text>\n";
  }
  for (double y = 0; y <= y_hi + 1e-9; y += ys) {
    s += "<line x1=\"" + num(L) + "\" y1=\"" + num(Y(y)) + "\" x2=\"" + num(L + pw) + "\" y2=\"" +
         num(Y(y)) + "\" stroke=\"#e4e4e4\"/>";
    s += "<text x=\"" + num(L - 5) + "\" y=\"" + num(Y(y) + 4) + "\" text-anchor=\"end\">" +
         tick_label(y) + "</text>\n";
  }
  s += "<rect x=\"" + num(L) + "\" y=\"" + num(T) + "\" width=\"" + num(pw) + "\" height=\"" +
       num(ph) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  s += "<text x=\"" + num(L + pw / 2) + "\" y=\"" + num(H - 8) + "\" text-anchor=\"middle\">" +
       esc(xlabel) + "</text>\n";
  s += "<text transform=\"translate(14," + num(T + ph / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + esc(ylabel) + "</text>\n";
  if (vline > 0 && vline <= x_hi) {
    s += "<line x1=\"" + num(X(vline)) + "\" y1=\"" + num(T) + "\" x2=\"" + num(X(vline)) +
         "\" y2=\"" + num(T + ph) + "\" stroke=\"#c0392b\" stroke-dasharray=\"5,4\"/>";
    const bool right = X(vline) > L + pw - 30;  // keep the label inside the plot
    s += "<text x=\"" + num(X(vline) + (right ? -3 : 3)) + "\" y=\"" + num(T + 12) +
         "\" text-anchor=\"" + (right ? "end" : "start") + "\" fill=\"#c0392b\">SLO</text>\n";
  }
  double legend_y = T + 14;
  for (const auto& ser : series) {
    if (ser.pts.empty()) continue;
    std::string d;
    for (size_t i = 0; i < ser.pts.size(); ++i) {
      const auto& [x, y] = ser.pts[i];
      // Appends piecewise (gcc 12 warns falsely on "M" + std::string temporaries).
      auto point = [&](const char* cmd, double px, double py) {
        d += cmd;
        d += num(px);
        d += ',';
        d += num(py);
      };
      if (i == 0) {
        point("M", X(x), Y(y));
      } else {
        if (step) point(" L", X(x), Y(ser.pts[i - 1].second));
        point(" L", X(x), Y(y));
      }
    }
    s +=
        "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + ser.color + "\" stroke-width=\"1.6\"/>\n";
    if (!ser.label.empty()) {
      s += "<text x=\"" + num(L + pw - 6) + "\" y=\"" + num(legend_y) +
           "\" text-anchor=\"end\" fill=\"" + ser.color + "\">" + esc(ser.label) + "</text>\n";
      legend_y += 14;
    }
  }
  s += "</svg>\n";
  return s;
}

// Empirical CDF, at most ~400 points (quantiles of the sorted sample).
std::vector<std::pair<double, double>> cdf_points(std::vector<double> v) {
  std::vector<std::pair<double, double>> pts;
  if (v.empty()) return pts;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const size_t step = std::max<size_t>(1, n / 400);
  pts.push_back({v[0], 0.0});
  for (size_t i = 0; i < n; i += step) pts.push_back({v[i], static_cast<double>(i + 1) / n});
  pts.push_back({v[n - 1], 1.0});
  return pts;
}

std::string cdf_plot(const std::string& name, const std::vector<double>& ms, double slo_ms) {
  auto pts = cdf_points(ms);
  double hi = pts.empty() ? 1 : pts.back().first;
  if (slo_ms > 0 && slo_ms > hi && slo_ms < 3 * hi) hi = slo_ms;
  return svg_plot(name + " CDF (n = " + std::to_string(ms.size()) + ")", name + " (ms)",
                  "fraction of requests", {{pts, "#2c6fbb", ""}}, hi, 1.0, slo_ms, true);
}

std::string dist_row(const char* name, const Distribution& d) {
  return std::string("<tr><td>") + name + "</td><td>" + num(d.mean) + "</td><td>" + num(d.p50) +
         "</td><td>" + num(d.p90) + "</td><td>" + num(d.p99) + "</td><td>" + num(d.max) +
         "</td><td>" + std::to_string(d.n) + "</td></tr>\n";
}

}  // namespace

std::string format_html(const RunInfo& info, const Summary& s,
                        std::span<const RequestRecord> records) {
  std::vector<double> ttft, tpot, itl, e2e;
  for (const auto& r : records) {
    if (!r.ok) continue;
    ttft.push_back(r.ttft_s * 1e3);
    e2e.push_back(r.e2e_s * 1e3);
    if (r.output_tokens > 1) tpot.push_back(tpot_s(r) * 1e3);
    for (double g : r.itl_s) itl.push_back(g * 1e3);
  }
  std::string h =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>xyserve bench serve: " +
      esc(info.trace) +
      "</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222}"
      "table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px "
      "10px;text-align:right}td:first-child,th:first-child{text-align:left}"
      ".plots{display:flex;flex-wrap:wrap;gap:8px}</style></head><body>\n";
  h += "<h1>xyserve bench serve</h1>\n<table>\n";
  auto kv = [&](const std::string& k, const std::string& v) {
    h += "<tr><td>" + esc(k) + "</td><td>" + esc(v) + "</td></tr>\n";
  };
  kv("target", info.url + " (" + info.model + ", " + info.endpoint + ")");
  kv("trace / arrivals", info.trace + ", " + info.rate);
  kv("max concurrency",
     info.max_concurrency > 0 ? std::to_string(info.max_concurrency) : "unlimited");
  kv("started (UTC)", info.started_utc);
  kv("requests: completed / failed / total", std::to_string(s.completed) + " / " +
                                                 std::to_string(s.failed) + " / " +
                                                 std::to_string(s.total));
  kv("duration (s)", num(s.duration_s));
  kv("request throughput (req/s)", num(s.request_throughput));
  kv("output token throughput (tok/s)", num(s.output_throughput));
  kv("total token throughput (tok/s)", num(s.total_throughput));
  kv("goodput (req/s)", num(s.goodput) + " (" + std::to_string(s.good_requests) +
                            " requests with TTFT <= " + num(s.slo.ttft_ms, 0) +
                            " ms and TPOT <= " + num(s.slo.tpot_ms, 0) + " ms)");
  h += "</table>\n<table><tr><th>latency (ms)</th><th>mean</th><th>p50</th><th>p90</th>"
       "<th>p99</th><th>max</th><th>n</th></tr>\n";
  h += dist_row("TTFT", s.ttft_ms) + dist_row("TPOT", s.tpot_ms) + dist_row("ITL", s.itl_ms) +
       dist_row("E2E", s.e2e_ms) + "</table>\n";
  if (!s.errors.empty()) {
    h += "<h3>errors</h3><ul>\n";
    for (const auto& [msg, n] : s.errors)
      h += "<li>" + std::to_string(n) + "x " + esc(msg) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<h2>Latency distributions</h2>\n<div class=\"plots\">\n";
  h += cdf_plot("TTFT", ttft, s.slo.ttft_ms) + cdf_plot("TPOT", tpot, s.slo.tpot_ms) +
       cdf_plot("ITL", itl, 0) + cdf_plot("E2E latency", e2e, 0);
  h += "</div>\n<h2>Over time</h2>\n<div class=\"plots\">\n";
  Series tok{{}, "#2c6fbb", "output tok/s"}, done{{}, "#27ae60", "completed req/s"},
      inflight{{}, "#8e44ad", "requests in flight"};
  double tok_hi = 0, done_hi = 0, fl_hi = 0;
  for (const auto& b : s.timeline) {
    const double mid = b.t_s + s.bucket_s / 2;
    tok.pts.push_back({mid, b.output_tok_per_s});
    done.pts.push_back({mid, b.completed_per_s});
    inflight.pts.push_back({b.t_s, static_cast<double>(b.in_flight)});
    tok_hi = std::max(tok_hi, b.output_tok_per_s);
    done_hi = std::max(done_hi, b.completed_per_s);
    fl_hi = std::max(fl_hi, static_cast<double>(b.in_flight));
  }
  const std::string bucket = " (" + num(s.bucket_s) + " s buckets)";
  h += svg_plot("Output throughput" + bucket, "time since start (s)", "tokens / s", {tok},
                s.duration_s, tok_hi);
  h += svg_plot("Completed requests" + bucket, "time since start (s)", "requests / s", {done},
                s.duration_s, done_hi);
  h += svg_plot("Requests in flight", "time since start (s)", "requests", {inflight}, s.duration_s,
                fl_hi, 0, true);
  h += "</div>\n<p>Made by <code>xyserve bench serve</code>. TPOT = (E2E - TTFT) / (output "
       "tokens - 1); ITL = gaps between streamed chunks, split over each chunk's tokens; "
       "goodput = requests within both SLOs per second of the run.</p>\n</body></html>\n";
  return h;
}

}  // namespace xy::bench
