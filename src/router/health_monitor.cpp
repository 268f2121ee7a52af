#include "router/health_monitor.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <fstream>
#include <sstream>

#include "core/seconds.h"
#include "router/replica_metrics.h"
#include "router/upstream_call.h"

namespace xy::router {

namespace asio = boost::asio;

HealthMonitor::HealthMonitor(asio::io_context& io, HealthOptions options, ReplicaSet& replicas,
                             RoutingPolicy& policy, RouterMetrics& metrics)
    : io_(io),
      options_(std::move(options)),
      replicas_(replicas),
      policy_(policy),
      metrics_(metrics),
      timer_(io) {}

Status HealthMonitor::load_file() {
  std::vector<ReplicaSpec> specs = options_.static_replicas;
  if (!options_.replica_file.empty()) {
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(options_.replica_file, ec);
    if (ec) return not_found("replica file " + options_.replica_file + ": " + ec.message());
    std::ifstream in(options_.replica_file);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parse_replica_file(text.str());
    if (!parsed.is_ok())
      return invalid_argument(options_.replica_file + ": " + parsed.status().message());
    for (const ReplicaSpec& s : *parsed) {
      bool dup = false;
      for (const ReplicaSpec& t : specs) dup = dup || t.url == s.url;
      if (!dup) specs.push_back(s);
    }
    file_mtime_ = mtime;
  }
  for (ReplicaId gone : replicas_.update(specs, /*assume_healthy=*/false)) policy_.forget(gone);
  return Status::ok();
}

void HealthMonitor::reload_if_changed() {
  if (options_.replica_file.empty()) return;
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(options_.replica_file, ec);
  if (ec || mtime == file_mtime_) return;
  const Status s = load_file();
  if (!s.is_ok()) {
    // Keep serving the last good list; say why the new one was refused.
    spdlog::warn("router: replica file not reloaded: {}", s.message());
    file_mtime_ = mtime;
  } else {
    spdlog::info("router: replica file reloaded ({} replicas)", replicas_.snapshot().size());
  }
}

void HealthMonitor::start() {
  for (const ReplicaSnapshot& r : replicas_.snapshot()) check(r);
  schedule_round();
}

void HealthMonitor::stop() {
  stopped_.store(true);
  asio::post(io_, [this] { timer_.cancel(); });
}

void HealthMonitor::schedule_round() {
  if (stopped_.load()) return;
  timer_.expires_after(steady_seconds(options_.interval_s));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_.load()) return;
    reload_if_changed();
    for (const ReplicaSnapshot& r : replicas_.snapshot()) check(r);
    schedule_round();
  });
}

void HealthMonitor::check(const ReplicaSnapshot& replica) {
  {
    std::lock_guard lock(checking_mu_);
    if (!checking_.insert(replica.id).second) return;
  }
  auto url = bench::parse_url(replica.url);
  if (!url.is_ok()) return;
  auto ex = asio::make_strand(io_);
  asio::co_spawn(
      ex,
      [this, ex, id = replica.id, name = replica.url, u = *url]() -> asio::awaitable<void> {
        bool ok = false;
        std::optional<ReplicaLoad> load;
        auto health = co_await http_get(ex, u, "/health", options_.timeout_s, 1 << 16);
        if (health.is_ok() && health->status == 200) {
          ok = true;
          auto m = co_await http_get(ex, u, "/metrics", options_.timeout_s, 16u << 20);
          if (m.is_ok() && m->status == 200) load = parse_replica_metrics(m->body);
        }
        if (!stopped_.load()) {
          const int change = replicas_.report_health(id, ok, load);
          if (change < 0) {
            metrics_.evicted();
            policy_.forget(id);
            spdlog::warn("router: replica {} evicted (health check failed: {})", name,
                         health.is_ok() ? "HTTP " + std::to_string(health->status)
                                        : health.status().message());
          } else if (change > 0) {
            if (change == 1) metrics_.readmitted();
            spdlog::info("router: replica {} is {}", name, change == 1 ? "back" : "healthy");
          }
        }
        std::lock_guard lock(checking_mu_);
        checking_.erase(id);
      },
      asio::detached);
}

}  // namespace xy::router
