#include "router/role_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "core/seconds.h"

namespace xy::router {

namespace {

double busy(const ReplicaSnapshot& r) {
  return r.in_flight + r.load.waiting;
}

}  // namespace

RoleSwitch decide_role_switch(const std::vector<ReplicaSnapshot>& all,
                              const RoleControlOptions& o) {
  std::vector<const ReplicaSnapshot*> prefill, decode;
  for (const ReplicaSnapshot& r : all) {
    if (!r.healthy) continue;
    if (r.role == ReplicaRole::kPrefill) prefill.push_back(&r);
    if (r.role == ReplicaRole::kDecode) decode.push_back(&r);
  }
  if (prefill.empty() || decode.empty()) return {};
  auto mean = [](const std::vector<const ReplicaSnapshot*>& v) {
    double s = 0;
    for (const ReplicaSnapshot* r : v) s += busy(*r);
    return s / double(v.size());
  };
  const double p = mean(prefill);
  const double d = mean(decode) / o.decode_weight;
  auto least_busy = [](const std::vector<const ReplicaSnapshot*>& v) {
    return *std::min_element(v.begin(), v.end(), [](const auto* a, const auto* b) {
      return busy(*a) != busy(*b) ? busy(*a) < busy(*b) : a->id < b->id;
    });
  };
  if (decode.size() >= 2 && p > o.ratio * std::max(d, 1.0))
    return {least_busy(decode)->id, ReplicaRole::kPrefill};
  if (prefill.size() >= 2 && d > o.ratio * std::max(p, 1.0))
    return {least_busy(prefill)->id, ReplicaRole::kDecode};
  return {};
}

RoleController::RoleController(boost::asio::io_context& io, RoleControlOptions options,
                               ReplicaSet& replicas, RouterMetrics& metrics)
    : options_(options), replicas_(replicas), metrics_(metrics), timer_(io) {}

void RoleController::start() {
  if (options_.interval_s > 0) schedule();
}

void RoleController::stop() {
  stopped_.store(true);
  boost::asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
}

void RoleController::schedule() {
  if (stopped_.load()) return;
  timer_.expires_after(steady_seconds(options_.interval_s));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_.load()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_switch_ >= std::chrono::duration<double>(options_.cooldown_s)) {
      const RoleSwitch s = decide_role_switch(replicas_.snapshot(), options_);
      if (s.replica >= 0) {
        const auto r = replicas_.get(s.replica);
        replicas_.set_role(s.replica, s.to);
        last_switch_ = now;
        metrics_.role_switched(s.to);
        spdlog::info("router: {} switches to {} (load shifted)", r ? r->url : "?", role_name(s.to));
      }
    }
    schedule();
  });
}

}  // namespace xy::router
