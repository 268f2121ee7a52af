// Computes token masks ahead of need, on its own thread: after a step the engine hands it each
// constrained request's next state, and the trie walk of a state not seen before runs while the
// next forward pass does. By sampling time the mask is usually cached; when it is not, the
// sampler's own request waits on the same state's lock and gets the walk's result. Masks are a
// pure function of (grammar, state), so where they are computed changes no output.
//
// Thread-safety: prefetch() from one thread (the engine's); the worker owns nothing else.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "grammar/matcher.h"

namespace xy::grammar {

class MaskPrefetcher {
 public:
  MaskPrefetcher() = default;
  ~MaskPrefetcher();
  MaskPrefetcher(const MaskPrefetcher&) = delete;
  MaskPrefetcher& operator=(const MaskPrefetcher&) = delete;

  // Queues the matcher's current state (no-op when its mask is cached or nothing can follow).
  void prefetch(const GrammarMatcher& matcher);
  // Waits until the queue is empty (tests).
  void drain();

 private:
  struct Job {
    std::shared_ptr<const CompiledGrammar> grammar;
    int32_t state;
  };
  void run();

  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Job> queue_;
  bool busy_ = false, stop_ = false;
  std::thread worker_;  // started on first use
};

}  // namespace xy::grammar
