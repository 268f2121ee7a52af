#include "engine/engine.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "core/check.h"
#include "engine/budget_calibration.h"
#include "engine/engine_state.h"
#include "engine/kv_cache/block_manager.h"
#include "engine/kv_cache/kv_cache_sizing.h"
#include "engine/request_state.h"
#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/token_table_builder.h"
#include "engine/spec/proposer.h"
#include "engine/step_sampler.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace xy {

namespace {

// Pool size from the config (engine_config.h), capped at what max_num_seqs full-length
// sequences can use, so a small model does not zero gigabytes it will never touch.
Result<int> size_kv_pool(const EngineConfig& cfg, const ModelConfig& model) {
  const int64_t useful_tokens = static_cast<int64_t>(cfg.max_num_seqs) * cfg.max_model_len;
  const int64_t useful_blocks = (useful_tokens + cfg.block_size - 1) / cfg.block_size + 1;
  if (cfg.num_kv_blocks > 0) return cfg.num_kv_blocks;
  int64_t budget = cfg.kv_cache_bytes;
  if (budget == 0) {
    const int64_t avail = available_memory_bytes();
    if (avail <= 0) {
      return resource_exhausted(
          "cannot read MemAvailable from /proc/meminfo; pass --kv-cache-memory BYTES");
    }
    budget = static_cast<int64_t>(cfg.kv_cache_fraction * static_cast<double>(avail));
  }
  XY_ASSIGN_OR_RETURN(int blocks,
                      kv_num_blocks_for_budget(budget, model, cfg.block_size, cfg.kv_dtype));
  return static_cast<int>(std::min<int64_t>(blocks, useful_blocks));
}

}  // namespace

Engine::Engine(EngineParts parts, const EngineConfig& config)
    : parts_(std::move(parts)), config_(config), epoch_(std::chrono::steady_clock::now()) {}

Engine::~Engine() {
  shutdown();
}

double Engine::now_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_).count();
}

Result<std::unique_ptr<Engine>> Engine::create(EngineParts parts, const EngineConfig& config) {
  if (parts.model == nullptr) return invalid_argument("Engine::create: no model");
  XY_RETURN_IF_ERROR(config.validate());
  const ModelConfig& mc = parts.model->config();
  EngineConfig cfg = config;
  if (cfg.max_model_len == 0 || cfg.max_model_len > mc.max_position_embeddings) {
    cfg.max_model_len = mc.max_position_embeddings;
  }
  if (cfg.num_speculative_tokens > 0 && parts.proposer == nullptr) {
    return invalid_argument("num_speculative_tokens > 0 needs a proposer");
  }
  for (int32_t id : parts.eos_token_ids) {
    if (id < 0 || id >= mc.vocab_size) {
      return invalid_argument("EOS token id " + std::to_string(id) + " outside the vocabulary");
    }
  }
  XY_ASSIGN_OR_RETURN(int num_blocks, size_kv_pool(cfg, mc));
  XY_ASSIGN_OR_RETURN(KvCache cache,
                      parts.model->make_kv_cache(num_blocks, cfg.block_size, cfg.kv_dtype));

  std::unique_ptr<Engine> engine(new Engine(std::move(parts), cfg));
  if (cfg.max_num_batched_tokens == 0) {
    ForwardScratch scratch;
    XY_ASSIGN_OR_RETURN(BudgetCalibration cal,
                        calibrate_token_budget(*engine->parts_.model, cache, scratch,
                                               cfg.target_tpot_ms, /*min_tokens=*/16,
                                               /*max_tokens=*/std::min(8192, cfg.max_model_len)));
    cfg.max_num_batched_tokens = cal.budget;
  }
  cfg.max_num_seqs = std::min(cfg.max_num_seqs, cfg.max_num_batched_tokens);
  engine->config_ = cfg;

  SchedulerConfig sched;
  sched.max_num_batched_tokens = cfg.max_num_batched_tokens;
  sched.max_num_seqs = cfg.max_num_seqs;
  sched.priority_scheduling = cfg.priority_scheduling;
  sched.max_model_len = cfg.max_model_len;
  XY_RETURN_IF_ERROR(sched.validate());
  engine->kv_layout_ = kv_snapshot_layout(cache.shape());
  engine->state_ = std::make_unique<State>(std::move(cache), cfg, sched);
  engine->stats_.num_kv_blocks = num_blocks;
  engine->stats_.num_free_kv_blocks = num_blocks;
  engine->stats_.max_num_batched_tokens = cfg.max_num_batched_tokens;
  engine->stats_.max_num_seqs = cfg.max_num_seqs;
  engine->stats_.block_size = cfg.block_size;
  engine->stats_.max_model_len = cfg.max_model_len;
  if (cfg.run_loop_thread) engine->thread_ = std::thread([e = engine.get()] { e->loop(); });
  return engine;
}

Result<RequestHandle> Engine::add_request(EngineRequest request) {
  const ModelConfig& mc = parts_.model->config();
  const int prompt_len = static_cast<int>(request.prompt_tokens.size());
  if (prompt_len == 0) return invalid_argument("the prompt is empty");
  for (size_t i = 0; i < request.prompt_tokens.size(); ++i) {
    const int32_t t = request.prompt_tokens[i];
    if (t < 0 || t >= mc.vocab_size) {
      return invalid_argument("prompt token " + std::to_string(i) + " is " + std::to_string(t) +
                              ", outside the vocabulary [0, " + std::to_string(mc.vocab_size) +
                              ")");
    }
  }
  if (request.max_tokens < 1) {
    return invalid_argument("max_tokens must be >= 1, got " + std::to_string(request.max_tokens));
  }
  if (prompt_len >= config_.max_model_len) {
    return invalid_argument(
        "the prompt has " + std::to_string(prompt_len) + " tokens; the context length is " +
        std::to_string(config_.max_model_len) + " and at least one token must be generated");
  }
  XY_RETURN_IF_ERROR(request.sampling.validate());
  XY_RETURN_IF_ERROR(request.sampling.validate_token_ids(mc.vocab_size));
  if (request.grammar && request.grammar->vocabulary().size() != mc.vocab_size) {
    return invalid_argument("the output grammar was compiled for a vocabulary of " +
                            std::to_string(request.grammar->vocabulary().size()) +
                            " tokens, the model has " + std::to_string(mc.vocab_size));
  }
  XY_RETURN_IF_ERROR(request.stop.validate());
  if (request.imported_kv) {
    const KvSnapshot& kv = *request.imported_kv;
    XY_RETURN_IF_ERROR(kv.validate());
    const KvSnapshotLayout mine = kv_layout_;
    if (!(kv.layout == mine)) {
      return invalid_argument("the imported K/V is " + kv.layout.describe() +
                              "; this engine's cache is " + mine.describe());
    }
    if (kv.tokens != request.prompt_tokens) {
      return invalid_argument("the imported K/V is for a different prompt (" +
                              std::to_string(kv.num_tokens()) + " tokens vs " +
                              std::to_string(prompt_len) + "): the instances tokenize differently");
    }
    if (request.imported_tokens.empty() ||
        request.imported_tokens.size() > static_cast<size_t>(request.max_tokens)) {
      return invalid_argument("imported K/V needs 1 to max_tokens tokens sampled after it, got " +
                              std::to_string(request.imported_tokens.size()));
    }
    for (int32_t t : request.imported_tokens) {
      if (t < 0 || t >= mc.vocab_size)
        return invalid_argument("imported token " + std::to_string(t) + " outside the vocabulary");
    }
  } else if (!request.imported_tokens.empty()) {
    return invalid_argument("imported tokens without imported K/V");
  }
  if (!request.stop.stop_strings.empty() && (tokenizer() == nullptr || !request.detokenize)) {
    return invalid_argument("stop strings need detokenized output (an engine with a tokenizer)");
  }
  // The KV pool must hold the request alone (then it can always finish, preempting others).
  const int max_new = std::min(request.max_tokens, config_.max_model_len - prompt_len);
  const int64_t pool_tokens = static_cast<int64_t>(stats().num_kv_blocks) * config_.block_size;
  if (prompt_len + max_new > pool_tokens) {
    return resource_exhausted("the prompt (" + std::to_string(prompt_len) +
                              " tokens) + max_tokens (" + std::to_string(max_new) +
                              ") needs more KV slots than the cache has (" +
                              std::to_string(pool_tokens) + ")");
  }
  request.max_tokens = max_new;

  RequestHandle handle;
  handle.id = next_id_.fetch_add(1);
  handle.stream = std::make_shared<OutputStream>(handle.id, request.notifier);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) return resource_exhausted("engine is shut down");
    added_.push_back({handle.id, std::move(request), handle.stream, now_s()});
    ++num_unfinished_;
  }
  queue_cv_.notify_all();
  return handle;
}

void Engine::abort(SeqId id) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    aborted_.push_back(id);
  }
  queue_cv_.notify_all();
}

bool Engine::has_unfinished() const {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return num_unfinished_ > 0;
}

EngineStats Engine::stats() const {
  EngineStats s;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    s = stats_;
  }
  if (parts_.proposer) s.spec = parts_.proposer->stats();  // thread-safe snapshot
  return s;
}

Status Engine::validate_kv() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  const std::vector<const Sequence*> holders = state_->scheduler.block_holders();
  return state_->blocks.validate(holders);
}

int Engine::num_used_kv_blocks() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return state_->blocks.num_blocks() - state_->blocks.num_reclaimable_blocks();
}

void Engine::loop() {
  bool busy = false;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      if (!busy) {
        queue_cv_.wait(lock, [&] { return stopping_ || !added_.empty() || !aborted_.empty(); });
      }
      if (stopping_) return;
    }
    std::lock_guard<std::mutex> lock(state_mu_);
    const Status st = run_step();
    if (!st.is_ok())
      std::fprintf(stderr, "xyserve engine: step failed: %s\n", st.to_string().c_str());
    busy = state_->scheduler.has_unfinished();
  }
}

Result<bool> Engine::step() {
  XY_CHECK_MSG(!config_.run_loop_thread, "Engine::step() with the loop thread running");
  std::lock_guard<std::mutex> lock(state_mu_);
  const int64_t before = state_->scheduler.num_steps();
  XY_RETURN_IF_ERROR(run_step());
  return state_->scheduler.num_steps() != before;
}

Result<std::vector<StreamDelta>> Engine::generate(std::vector<EngineRequest> requests) {
  std::vector<RequestHandle> handles;
  for (EngineRequest& r : requests) {
    Result<RequestHandle> h = add_request(std::move(r));
    if (!h.is_ok()) {
      for (const RequestHandle& added : handles) abort(added.id);
      return h.status();
    }
    handles.push_back(std::move(*h));
  }
  std::vector<StreamDelta> results(handles.size());
  for (size_t i = 0; i < handles.size(); ++i) results[i].request_id = handles[i].id;
  if (config_.run_loop_thread) {
    // Deltas merge inside each stream while nobody reads it, so waiting on one request at a
    // time never holds the others back.
    for (size_t i = 0; i < handles.size(); ++i) {
      while (std::optional<StreamDelta> d = handles[i].stream->next()) {
        const bool fin = d->finished;
        results[i].merge(std::move(*d));
        if (fin) break;
      }
    }
    return results;
  }
  while (has_unfinished()) XY_RETURN_IF_ERROR(step().status());
  for (size_t i = 0; i < handles.size(); ++i) {
    while (std::optional<StreamDelta> d = handles[i].stream->try_next()) {
      results[i].merge(std::move(*d));
    }
  }
  return results;
}

void Engine::shutdown() {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Everything still unfinished ends as aborted.
  std::lock_guard<std::mutex> state_lock(state_mu_);
  std::vector<PendingRequest> added;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    added.swap(added_);
    aborted_.clear();
  }
  const auto abort_stream = [&](OutputStream& s, const RequestState* st) {
    StreamDelta d;
    d.request_id = s.request_id();
    d.finished = true;
    d.finish_reason = FinishReason::kAborted;
    d.error = resource_exhausted("engine is shut down");
    if (st != nullptr) {
      d.usage = {st->num_prompt_tokens, st->num_generated, st->cached_tokens};
      d.timings = st->timings;
    }
    d.timings.finished_s = now_s();
    s.push(std::move(d));
  };
  for (PendingRequest& p : added) abort_stream(*p.stream, nullptr);
  if (state_ != nullptr) {
    for (auto& [id, st] : state_->requests) {
      if (state_->scheduler.find(id) != nullptr) (void)state_->scheduler.abort(id);
      if (parts_.proposer) parts_.proposer->release(id);
      abort_stream(*st->stream, st.get());
    }
    state_->requests.clear();
  }
  std::lock_guard<std::mutex> lock(queue_mu_);
  num_unfinished_ = 0;
}

}  // namespace xy
