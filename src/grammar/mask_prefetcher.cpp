#include "grammar/mask_prefetcher.h"

namespace xy::grammar {

MaskPrefetcher::~MaskPrefetcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void MaskPrefetcher::prefetch(const GrammarMatcher& matcher) {
  const int32_t state = matcher.state();
  if (state < 0) return;  // stopped
  PdaStates& states = matcher.grammar().states();
  if (states.finished(state) || states.has_mask(state)) return;
  {
    std::lock_guard lock(mu_);
    queue_.push_back({matcher.grammar_ptr(), state});
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
  }
  cv_.notify_one();
}

void MaskPrefetcher::drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void MaskPrefetcher::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    (void)job.grammar->states().token_mask(job.state);
    job.grammar.reset();
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace xy::grammar
