// The per-request channel from the engine thread to whoever serves the request (the HTTP server,
// the CLI, a test): a sequence of deltas, each carrying what happened to the request since the
// previous one (new token ids, their text, logprobs, timings), the last one also the finish
// reason and the usage.
//
// Never blocks the engine on a slow consumer: the engine's push() merges into the one pending
// delta when the consumer has not taken it yet (tokens, text, logprobs and times are appended),
// so memory is bounded by the request's own output, and the engine never waits on a lock held
// longer than a merge. A consumer blocks in next() with a timeout, or polls with try_next().
//
// Thread: push()/close() from the engine thread; next()/try_next()/finished() from any one
// consumer thread (or several, each delta goes to exactly one). Shared ownership: the engine and
// the consumer each hold a std::shared_ptr; either may drop it first.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/request.h"
#include "engine/sampling/sampler.h"
#include "engine/sequence.h"
#include "model/kv_snapshot.h"

namespace xy {

// "stop" / "length" / "abort" (OpenAI's finish_reason; kNone -> nullptr).
const char* finish_reason_name(FinishReason reason);

// Logprobs of one generated token (when the request asked for them), raw logits' log_softmax.
struct TokenLogprobs {
  int32_t token = -1;
  float logprob = 0.0f;
  int64_t rank = 0;                        // 1-based, ties counted against the token
  std::vector<TokenLogprob> top_logprobs;  // [SamplingParams::logprobs] best first
};

struct RequestUsage {
  int prompt_tokens = 0;
  int completion_tokens = 0;  // generated token ids, including a stop / EOS token
  int cached_tokens = 0;      // prompt tokens served from the prefix cache (first admission)
};

// Seconds on the engine's steady clock (Engine::now_s()); 0 = not yet.
struct RequestTimings {
  double arrival_s = 0.0;          // add_request() accepted it
  double first_scheduled_s = 0.0;  // first step that ran any of its tokens (end of queueing)
  double first_token_s = 0.0;      // its first generated token was streamed
  double finished_s = 0.0;         // the final delta was pushed
};

struct StreamDelta {
  SeqId request_id = 0;
  std::vector<int32_t> token_ids;       // new generated ids since the previous delta
  std::string text;                     // new detokenized text (stop strings removed, held-back
                                        // text that may start a stop string not yet included)
  std::vector<TokenLogprobs> logprobs;  // [token_ids.size()] when asked, else empty
  std::vector<double> token_times_s;    // [token_ids.size()] when each id was produced
  // Set on the last delta only.
  bool finished = false;
  FinishReason finish_reason = FinishReason::kNone;
  // What stopped it with finish_reason kStop: the matched stop string, or the stop/EOS token id.
  std::optional<std::string> stop_string;
  std::optional<int32_t> stop_token_id;
  Status error;            // non-ok when the engine failed the request (finish_reason kAborted)
  RequestUsage usage;      // cumulative, valid in every delta
  RequestTimings timings;  // cumulative, valid in every delta
  int num_preemptions = 0;
  // Final delta of an EngineRequest with export_kv: the prompt's K/V (null if the request ended
  // before its prompt was computed).
  std::shared_ptr<const KvSnapshot> kv_export;
  uint64_t rng_position = 0;  // with kv_export: random draws consumed so far

  // Appends `next` (a later delta of the same request) to this one.
  void merge(StreamDelta&& next);
};

// A wake-up signal shared by many streams, so that one consumer thread serving many requests
// (the server's stream pump) can sleep until any of them has a delta instead of polling.
// Thread-safe; notify() never blocks beyond a short lock.
class StreamNotifier {
 public:
  void notify();
  // Returns true as soon as notify() has been called since the previous wait returned true
  // (immediately if it already was), false after `timeout` without one.
  bool wait(std::chrono::milliseconds timeout);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
};

class OutputStream {
 public:
  explicit OutputStream(SeqId id, std::shared_ptr<StreamNotifier> notifier = nullptr)
      : id_(id), notifier_(std::move(notifier)) {}
  SeqId request_id() const { return id_; }

  // Engine side. push() after the final delta is a programmer error (checked).
  void push(StreamDelta delta);

  // Consumer side. The next delta, waiting at most `timeout`; nullopt on timeout or when the
  // final delta was already taken.
  std::optional<StreamDelta> next(std::chrono::milliseconds timeout);
  // Waits without limit until a delta is available; nullopt once the final delta was taken.
  std::optional<StreamDelta> next();
  std::optional<StreamDelta> try_next() { return next(std::chrono::milliseconds(0)); }
  // The final delta has been pushed (it may not have been taken yet).
  bool finished() const;
  // The final delta has been taken by a consumer: nothing more will ever come.
  bool drained() const;

 private:
  const SeqId id_;
  const std::shared_ptr<StreamNotifier> notifier_;  // may be null; notified after each push
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<StreamDelta> pending_;  // merged deltas not yet taken
  bool final_pushed_ = false;
  bool final_taken_ = false;
};

}  // namespace xy
