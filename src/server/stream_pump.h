// Moves engine output to the HTTP side. The engine's OutputStream is pull-based (it merges
// deltas while nobody reads, so the engine never waits); one pump thread polls every live
// stream and hands each delta to its consumer callback, so no thread per request is needed.
// Between polls it waits `poll_interval` only when nothing arrived (an engine step takes tens
// of milliseconds, so the added latency is a small fraction of a token's); with no live stream it
// waits 20x longer, and add() wakes it at once.
//
// It also samples Engine::stats() every pass and reports step counter movements, which is how
// per-step histograms are filled without a hook inside the engine.
//
// Thread: add() from any thread; callbacks and the stats observer run on the pump thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
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
             std::chrono::microseconds poll_interval = std::chrono::microseconds(1000));
  ~StreamPump();  // stop()

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
  std::chrono::microseconds poll_interval_;
  mutable std::mutex mu_;
  std::condition_variable wake_;  // add() and stop() wake an idle pump
  std::vector<Entry> incoming_;   // added since the last pass
  std::atomic<size_t> count_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace xy::server
