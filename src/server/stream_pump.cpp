#include "server/stream_pump.h"

namespace xy::server {

StreamPump::StreamPump(std::function<EngineStats()> stats_source, StatsObserver observer,
                       std::chrono::milliseconds stats_interval)
    : stats_source_(std::move(stats_source)),
      observer_(std::move(observer)),
      stats_interval_(stats_interval),
      thread_([this] { run(); }) {}

StreamPump::~StreamPump() {
  stop();
}

void StreamPump::stop() {
  stop_.store(true);
  notifier_->notify();
  if (thread_.joinable()) thread_.join();
}

void StreamPump::add(std::shared_ptr<OutputStream> stream, Consumer consumer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    incoming_.push_back({std::move(stream), std::move(consumer)});
    count_.fetch_add(1);
  }
  notifier_->notify();
}

size_t StreamPump::num_streams() const {
  return count_.load();
}

void StreamPump::run() {
  std::vector<Entry> live;
  EngineStats prev = stats_source_ ? stats_source_() : EngineStats{};
  while (!stop_.load()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& e : incoming_) live.push_back(std::move(e));
      incoming_.clear();
    }
    bool any = false;
    for (size_t i = 0; i < live.size();) {
      std::optional<StreamDelta> d = live[i].stream->try_next();
      bool done = false;
      if (d) {
        any = true;
        done = d->finished;
        live[i].consumer(std::move(*d));
      }
      if (done) {
        if (i + 1 != live.size()) live[i] = std::move(live.back());
        live.pop_back();
        count_.fetch_sub(1);
      } else {
        ++i;
      }
    }
    if (stats_source_) {
      EngineStats cur = stats_source_();
      if (cur.num_steps != prev.num_steps && observer_) observer_(prev, cur);
      prev = cur;
    }
    if (any) continue;
    // Nothing arrived: sleep until the engine pushes a delta, add() brings a stream or stop();
    // a notification that came during the pass above is still pending, so none is lost.
    notifier_->wait(stats_interval_);
  }
}

}  // namespace xy::server
