// A small Prometheus registry: counters, gauges and histograms with one constant label set,
// rendered in the text exposition format (version 0.0.4) that Prometheus and vLLM's dashboards
// scrape. Metric objects are created once at start-up and updated lock-free (counters, gauges)
// or under a per-histogram mutex; render() may run concurrently with updates.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace xy::server {

class Counter {
 public:
  void inc(double v = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }
  // For counters mirrored from an engine total: moves to `total` if it grew (never backwards).
  void set_total(double total);

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // ascending, +Inf implied
  void observe(double v);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // [bounds.size() + 1], last = count
    double sum = 0.0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; [bounds_.size() + 1]
  double sum_ = 0.0;
};

class MetricsRegistry {
 public:
  // labels: rendered inside {...} on every sample, e.g. model_name="tiny" (already escaped).
  explicit MetricsRegistry(std::string labels);

  // Names must be unique; the registry owns the metric and the pointer stays valid.
  Counter* counter(const std::string& name, const std::string& help);
  Gauge* gauge(const std::string& name, const std::string& help);
  Histogram* histogram(const std::string& name, const std::string& help,
                       std::vector<double> upper_bounds);
  // A histogram family split by one extra label, e.g. position="0".."k"; created lazily.
  Histogram* labeled_histogram(const std::string& name, const std::string& help,
                               const std::string& label, const std::string& label_value,
                               const std::vector<double>& upper_bounds);
  Counter* labeled_counter(const std::string& name, const std::string& help,
                           const std::string& label, const std::string& label_value);
  Gauge* labeled_gauge(const std::string& name, const std::string& help, const std::string& label,
                       const std::string& label_value);

  std::string render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Series {
    std::string extra_labels;  // "" or key="value"
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string name, help;
    Kind kind;
    std::vector<std::unique_ptr<Series>> series;
  };
  Family& family(const std::string& name, const std::string& help, Kind kind);

  std::string labels_;
  mutable std::mutex mu_;  // guards families_ structure (not metric values)
  std::vector<std::unique_ptr<Family>> families_;
};

// Prometheus label value escaping (backslash, double quote, newline).
std::string escape_label_value(const std::string& v);

}  // namespace xy::server
