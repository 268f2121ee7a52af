#include "server/metrics_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/check.h"

namespace xy::server {

void Counter::inc(double v) {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

void Counter::set_total(double total) {
  double cur = value_.load(std::memory_order_relaxed);
  while (total > cur && !value_.compare_exchange_weak(cur, total, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {
  XY_CHECK(std::is_sorted(bounds_.begin(), bounds_.end()));
}

void Histogram::observe(double v) {
  // First bucket whose upper bound is >= v ("le" semantics); NaN lands in +Inf.
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  std::lock_guard<std::mutex> lock(mu_);
  counts_[i] += 1;
  if (std::isfinite(v)) sum_ += v;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard<std::mutex> lock(mu_);
  s.cumulative.resize(counts_.size());
  uint64_t run = 0;
  for (size_t i = 0; i < counts_.size(); ++i) s.cumulative[i] = run += counts_[i];
  s.sum = sum_;
  return s;
}

MetricsRegistry::MetricsRegistry(std::string labels) : labels_(std::move(labels)) {}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help,
                                                 Kind kind) {
  for (auto& f : families_) {
    if (f->name == name) {
      XY_CHECK(f->kind == kind);
      return *f;
    }
  }
  families_.push_back(std::make_unique<Family>(Family{name, help, kind, {}}));
  return *families_.back();
}

Counter* MetricsRegistry::counter(const std::string& name, const std::string& help) {
  return labeled_counter(name, help, "", "");
}

Counter* MetricsRegistry::labeled_counter(const std::string& name, const std::string& help,
                                          const std::string& label, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name, help, Kind::kCounter);
  const std::string extra = label.empty() ? "" : label + "=\"" + escape_label_value(value) + "\"";
  for (auto& s : f.series)
    if (s->extra_labels == extra) return s->counter.get();
  auto s = std::make_unique<Series>();
  s->extra_labels = extra;
  s->counter = std::make_unique<Counter>();
  f.series.push_back(std::move(s));
  return f.series.back()->counter.get();
}

Gauge* MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name, help, Kind::kGauge);
  XY_CHECK(f.series.empty());
  auto s = std::make_unique<Series>();
  s->gauge = std::make_unique<Gauge>();
  f.series.push_back(std::move(s));
  return f.series.back()->gauge.get();
}

Gauge* MetricsRegistry::labeled_gauge(const std::string& name, const std::string& help,
                                      const std::string& label, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name, help, Kind::kGauge);
  const std::string extra = label + "=\"" + escape_label_value(value) + "\"";
  for (auto& s : f.series)
    if (s->extra_labels == extra) return s->gauge.get();
  auto s = std::make_unique<Series>();
  s->extra_labels = extra;
  s->gauge = std::make_unique<Gauge>();
  f.series.push_back(std::move(s));
  return f.series.back()->gauge.get();
}

Histogram* MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> upper_bounds) {
  return labeled_histogram(name, help, "", "", upper_bounds);
}

Histogram* MetricsRegistry::labeled_histogram(const std::string& name, const std::string& help,
                                              const std::string& label, const std::string& value,
                                              const std::vector<double>& upper_bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name, help, Kind::kHistogram);
  const std::string extra = label.empty() ? "" : label + "=\"" + escape_label_value(value) + "\"";
  for (auto& s : f.series)
    if (s->extra_labels == extra) return s->histogram.get();
  auto s = std::make_unique<Series>();
  s->extra_labels = extra;
  s->histogram = std::make_unique<Histogram>(upper_bounds);
  f.series.push_back(std::move(s));
  return f.series.back()->histogram.get();
}

namespace {

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  // Integers print exactly; others with enough digits to round-trip.
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  else
    std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string join_labels(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}

std::string braces(const std::string& l) {
  return l.empty() ? "" : "{" + l + "}";
}

}  // namespace

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : families_) {
    const char* type = f->kind == Kind::kCounter ? "counter"
                       : f->kind == Kind::kGauge ? "gauge"
                                                 : "histogram";
    out += "# HELP " + f->name + " " + f->help + "\n";
    out += "# TYPE " + f->name + " " + type + "\n";
    for (const auto& s : f->series) {
      const std::string labels = join_labels(labels_, s->extra_labels);
      if (s->counter) {
        out += f->name + braces(labels) + " " + num(s->counter->value()) + "\n";
      } else if (s->gauge) {
        out += f->name + braces(labels) + " " + num(s->gauge->value()) + "\n";
      } else {
        const Histogram::Snapshot snap = s->histogram->snapshot();
        for (size_t i = 0; i <= snap.bounds.size(); ++i) {
          const std::string le =
              "le=\"" + (i < snap.bounds.size() ? num(snap.bounds[i]) : std::string("+Inf")) + "\"";
          out += f->name + "_bucket" + braces(join_labels(labels, le)) + " " +
                 num(double(snap.cumulative[i])) + "\n";
        }
        out += f->name + "_sum" + braces(labels) + " " + num(snap.sum) + "\n";
        out +=
            f->name + "_count" + braces(labels) + " " + num(double(snap.cumulative.back())) + "\n";
      }
    }
  }
  return out;
}

std::string escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace xy::server
