// xy::Engine: the serving loop. It owns the KV cache, the block manager, the scheduler, the
// sampler and an optional speculative proposer, and runs one step after another on its own
// thread:
//   drain added / aborted requests -> propose drafts -> schedule -> KV copies -> forward
//   -> sample / verify -> commit -> stop checks -> stream deltas
// (engine.cpp reads in those lines; each policy lives in its own file: stop_checker,
// output_stream, step_sampler, budget_calibration, kv sizing in engine_config).
//
// Threads: add_request(), abort(), stats(), generate() and shutdown() may be called from any
// thread at any time. Requests and aborts go through a queue that the loop drains at the top of
// each step, so an abort frees the request's KV blocks within one step. Output reaches the
// caller only through each request's OutputStream; the engine never waits on a consumer.
//
// Failure: malformed requests are rejected by add_request() with kInvalidArgument (nothing is
// queued); a request that fails inside the engine (e.g. NaN logits) ends with finish_reason
// kAborted and a non-ok StreamDelta::error; running out of KV blocks preempts (recompute), never
// fails. After shutdown() add_request() returns kResourceExhausted ("engine is shut down").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "engine/engine_config.h"
#include "engine/engine_stats.h"
#include "engine/output_stream.h"
#include "engine/request.h"
#include "engine/sampling/sampling_params.h"
#include "engine/spec/proposer.h"
#include "engine/stop_checker.h"
#include "grammar/compiled_grammar.h"
#include "model/kv_snapshot.h"

namespace xy {

struct RequestState;
struct ScheduleDecision;
class Model;
class Tokenizer;

// One generation request, as native structs (the server turns JSON into this).
struct EngineRequest {
  std::vector<int32_t> prompt_tokens;  // non-empty, ids in [0, vocab)
  SamplingParams sampling;
  StopConditions stop;
  int max_tokens = 16;  // >= 1; also capped by max_model_len - prompt length
  int priority = 0;     // lower = more important; used with EngineConfig::priority_scheduling
  // Text deltas: decode with special tokens skipped (OpenAI default). detokenize = false leaves
  // StreamDelta::text empty (then stop strings are not allowed).
  bool skip_special_tokens = true;
  bool detokenize = true;
  // Structured output (optional): every generated token keeps the output a prefix of a string
  // of this grammar; the request stops when the grammar is complete and allows nothing more.
  // Compiled for this engine's vocabulary (grammar::GrammarCompiler).
  std::shared_ptr<const grammar::CompiledGrammar> grammar;
  // Optional: notified after every delta of this request's stream (StreamNotifier), so one
  // consumer thread can serve many streams without polling. Shared by any number of requests.
  std::shared_ptr<StreamNotifier> notifier;

  // Prefill/decode disaggregation.
  // export_kv: the final delta carries the prompt's K/V (StreamDelta::kv_export), copied when
  // the prompt's last chunk has run; a prefill instance runs such requests with max_tokens 1.
  bool export_kv = false;
  // imported_kv: the prompt's K/V computed by another engine (its tokens must equal
  // prompt_tokens, its layout this engine's cache), and imported_tokens the tokens that engine
  // sampled after it (at least one). They are streamed first, then generation continues from
  // them: no prefill runs here, and greedy output equals that of one engine doing everything.
  std::shared_ptr<const KvSnapshot> imported_kv;
  std::vector<int32_t> imported_tokens;
  // Random draws the exporting engine consumed for imported_tokens (its final delta's
  // rng_position): this request's stream continues from there, so seeded sampling gives the
  // same tokens as one engine doing everything.
  uint64_t imported_rng_position = 0;
};

struct RequestHandle {
  SeqId id = 0;                          // engine-assigned, unique for the engine's life
  std::shared_ptr<OutputStream> stream;  // deltas until the final one
};

// What the engine is built from.
struct EngineParts {
  std::shared_ptr<const Model> model;          // required
  std::shared_ptr<const Tokenizer> tokenizer;  // optional: without it, no text / stop strings
  std::vector<int32_t> eos_token_ids;          // stop tokens of the model (may be empty)
  std::unique_ptr<spec::Proposer> proposer;    // optional: speculation off without it
};

class Engine {
 public:
  // Sizes and allocates the KV cache, calibrates the token budget when config asks for it
  // (max_num_batched_tokens == 0), and starts the loop thread (config.run_loop_thread).
  // kInvalidArgument for a bad config, kResourceExhausted when the KV cache cannot be allocated.
  static Result<std::unique_ptr<Engine>> create(EngineParts parts, const EngineConfig& config);
  ~Engine();  // shutdown()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and queues a request; its stream receives deltas from the next step on.
  Result<RequestHandle> add_request(EngineRequest request);
  // Asks the loop to abort a request (no-op when it already finished or is unknown). The stream
  // gets a final delta with finish_reason kAborted; the KV blocks are free after the next step.
  void abort(SeqId id);

  // Convenience: adds all requests, waits until every one finished, and returns each request's
  // deltas merged into one (in request order). Fails without waiting if a request is rejected
  // (the ones already added are aborted). Needs the loop thread or drives step() itself.
  Result<std::vector<StreamDelta>> generate(std::vector<EngineRequest> requests);

  // Manual driving (config.run_loop_thread == false only, checked): drains the queues and runs
  // one step if there is work. Returns whether a step ran.
  Result<bool> step();
  // Requests added and not yet finished (queued, waiting or running).
  bool has_unfinished() const;

  // Stops the loop thread after the current step; every unfinished request ends with kAborted.
  // Idempotent.
  void shutdown();

  EngineStats stats() const;
  const EngineConfig& config() const { return config_; }  // as resolved at create()
  const Model& model() const { return *parts_.model; }
  const Tokenizer* tokenizer() const { return parts_.tokenizer.get(); }
  // Seconds on the engine's steady clock (the unit of RequestTimings).
  double now_s() const;

  // KV consistency check over all live sequences (BlockManager::validate). Waits for the
  // current step to end. For tests.
  Status validate_kv() const;
  // Blocks currently referenced by a sequence or pinned; 0 when idle (cached blocks excluded).
  int num_used_kv_blocks() const;
  // The K/V layout this engine exports and imports (fixed at create()).
  KvSnapshotLayout kv_layout() const { return kv_layout_; }

 private:
  struct State;  // everything the loop thread owns (engine.cpp)

  Engine(EngineParts parts, const EngineConfig& config);
  void loop();
  Status run_step();  // with state_mu_ held (engine_step.cpp)
  // Moves added / aborted requests from the queue into the scheduler (engine_step.cpp).
  void drain_queue();
  // The final delta of a request that ends outside the normal token flow (abort, error).
  void end_request(RequestState& request, FinishReason reason, Status error);
  void note_finished(int num_requests);
  // Step phases (engine_step.cpp).
  struct StepOutcome {
    int64_t generated = 0, drafts = 0, accepted = 0, cache_queries = 0, cache_hits = 0;
    int finished = 0;
  };
  void propose_drafts();
  void propose_forced_drafts();
  StepOutcome process_segments(const ScheduleDecision& decision, double now);
  void fail_step(const ScheduleDecision& decision, const Status& error);
  void update_gauges();

  EngineParts parts_;
  EngineConfig config_;
  const std::chrono::steady_clock::time_point epoch_;
  std::atomic<SeqId> next_id_{1};
  KvSnapshotLayout kv_layout_;

  // Queue from callers to the loop.
  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  struct PendingRequest {
    SeqId id = 0;
    EngineRequest request;
    std::shared_ptr<OutputStream> stream;
    double arrival_s = 0.0;
  };
  std::vector<PendingRequest> added_;
  std::vector<SeqId> aborted_;
  bool stopping_ = false;
  int num_unfinished_ = 0;  // added and not yet finished (any state)

  // Loop state; state_mu_ is held for a whole step.
  mutable std::mutex state_mu_;
  std::unique_ptr<State> state_;
  mutable std::mutex stats_mu_;
  EngineStats stats_;

  std::mutex shutdown_mu_;  // serializes shutdown() callers (join once)
  std::thread thread_;
};

}  // namespace xy
