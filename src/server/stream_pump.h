// Moves engine output to the HTTP side. The engine's OutputStream is pull-based (it merges
// deltas while nobody reads, so the engine never waits); one pump thread drains every live
// stream and hands each delta to its consumer callback, so no thread per request is needed.
// Requests are submitted with the pump's StreamNotifier (EngineRequest::notifier), which the
// engine signals after every delta, so the pump sleeps until there is something to move instead
// of polling; add() and stop() signal the same notifier.
//
// It also samples Engine::stats() every pass (at least every `stats_interval` while idle) and
// reports step counter movements, which is how per-step histograms are filled without a hook
// inside the engine.
//
// Thread: add() from any thread; callbacks and the stats observer run on the pump thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/engine_stats.h"
#include "engine/output_stream.h"

namespace xy::server {

class StreamPump {
 public:
  // Receives each delta; the final one has delta.finished set, after which the stream is dropped.
  using Consumer = std::function<void(StreamDelta&&)>;
  using StatsObserver = std::function<void(const EngineStats& prev, const EngineStats& cur)>;

  StreamPump(std::function<EngineStats()> stats_source, StatsObserver observer,
             std::chrono::milliseconds stats_interval = std::chrono::milliseconds(100));
  ~StreamPump();  // stop()

  // Set as EngineRequest::notifier of every request whose stream is add()ed here.
  const std::shared_ptr<StreamNotifier>& notifier() const { return notifier_; }
  void add(std::shared_ptr<OutputStream> stream, Consumer consumer);
  size_t num_streams() const;
  void stop();

 private:
  void run();

  struct Entry {
    std::shared_ptr<OutputStream> stream;
    Consumer consumer;
  };
  std::function<EngineStats()> stats_source_;
  StatsObserver observer_;
  std::chrono::milliseconds stats_interval_;
  std::shared_ptr<StreamNotifier> notifier_ = std::make_shared<StreamNotifier>();
  mutable std::mutex mu_;
  std::vector<Entry> incoming_;  // added since the last pass
  std::atomic<size_t> count_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace xy::server
