#include "engine/output_stream.h"

#include <utility>

#include "core/check.h"

namespace xy {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone:
      return nullptr;
    case FinishReason::kLength:
      return "length";
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kAborted:
      return "abort";
  }
  return nullptr;
}

void StreamDelta::merge(StreamDelta&& next) {
  token_ids.insert(token_ids.end(), next.token_ids.begin(), next.token_ids.end());
  text += next.text;
  for (TokenLogprobs& lp : next.logprobs) logprobs.push_back(std::move(lp));
  token_times_s.insert(token_times_s.end(), next.token_times_s.begin(), next.token_times_s.end());
  finished = next.finished;
  finish_reason = next.finish_reason;
  stop_string = std::move(next.stop_string);
  stop_token_id = next.stop_token_id;
  error = std::move(next.error);
  usage = next.usage;
  timings = next.timings;
  num_preemptions = next.num_preemptions;
  if (next.kv_export) {
    kv_export = std::move(next.kv_export);
    rng_position = next.rng_position;
  }
}

void StreamNotifier::notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = true;
  }
  cv_.notify_all();
}

bool StreamNotifier::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool notified = cv_.wait_for(lock, timeout, [&] { return pending_; });
  pending_ = false;
  return notified;
}

void OutputStream::push(StreamDelta delta) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    XY_CHECK_MSG(!final_pushed_, "OutputStream::push after the final delta");
    final_pushed_ = delta.finished;
    if (pending_) {
      pending_->merge(std::move(delta));
    } else {
      pending_ = std::move(delta);
    }
  }
  cv_.notify_all();
  if (notifier_) notifier_->notify();
}

std::optional<StreamDelta> OutputStream::next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!pending_ && !final_taken_) {
    cv_.wait_for(lock, timeout, [&] { return pending_.has_value() || final_taken_; });
  }
  if (!pending_) return std::nullopt;
  std::optional<StreamDelta> out = std::move(pending_);
  pending_.reset();
  if (out->finished) final_taken_ = true;
  return out;
}

std::optional<StreamDelta> OutputStream::next() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return pending_.has_value() || final_taken_; });
  if (!pending_) return std::nullopt;
  std::optional<StreamDelta> out = std::move(pending_);
  pending_.reset();
  if (out->finished) final_taken_ = true;
  return out;
}

bool OutputStream::finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return final_pushed_;
}

bool OutputStream::drained() const {
  std::lock_guard<std::mutex> lock(mu_);
  return final_taken_;
}

}  // namespace xy
