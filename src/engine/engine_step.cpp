// One engine step (Engine::run_step) and the bookkeeping around it: draining the request queue,
// streaming each request's new tokens through its stop checker, and retiring requests.
#include <algorithm>
#include <chrono>
#include <string>

#include "core/check.h"
#include "engine/engine.h"
#include "engine/engine_state.h"
#include "engine/scheduler/token_table_builder.h"
#include "engine/spec/proposer.h"
#include "engine/spec/tree_verify.h"
#include "model/model.h"

namespace xy {

namespace {

RequestUsage usage_of(const RequestState& r) {
  return {r.num_prompt_tokens, r.num_generated, r.cached_tokens};
}

// Streams `tokens` (accepted this step, in order) of one request: penalty history, text through
// the detokenizer and the stop checker, one delta. Tokens after a stop are dropped. Returns the
// finish reason (kNone: keeps running).
FinishReason emit_tokens(RequestState& r, const SegmentTokens& step, double now) {
  StreamDelta d;
  d.request_id = r.id;
  for (size_t i = 0; i < step.tokens.size(); ++i) {
    const int32_t token = step.tokens[i];
    ++r.num_generated;
    r.history.add_output(token);
    if (r.timings.first_token_s == 0.0) r.timings.first_token_s = now;
    d.token_ids.push_back(token);
    d.token_times_s.push_back(now);
    if (!step.logprobs.empty()) d.logprobs.push_back(step.logprobs[i]);
    // A stop token adds no text of its own, but ends the text: the detokenizer's tail goes out.
    std::string piece;
    if (r.detok) piece = r.stop.is_stop_token(token) ? r.detok->finish() : r.detok->push(token);
    StopChecker::Outcome o = r.stop.on_token(token, piece, r.num_generated);
    d.text += o.text;
    if (o.finish == FinishReason::kLength) {
      StopChecker::Outcome tail = r.stop.flush(r.detok ? r.detok->finish() : std::string());
      d.text += tail.text;
      if (tail.finish == FinishReason::kStop)
        o = std::move(tail);
      else
        o.finish = FinishReason::kLength;
    }
    if (o.finish != FinishReason::kNone) {
      d.finished = true;
      d.finish_reason = o.finish;
      d.stop_string = std::move(o.stop_string);
      d.stop_token_id = o.stop_token_id;
      break;
    }
  }
  if (!d.finished && r.matcher && r.matcher->is_terminated()) {
    // The grammar is complete and allows nothing more (e.g. its stop token is ignored):
    // the output is whole, so this is a normal stop.
    StopChecker::Outcome tail = r.stop.flush(r.detok ? r.detok->finish() : std::string());
    d.text += tail.text;
    d.finished = true;
    d.finish_reason = FinishReason::kStop;
  }
  d.usage = usage_of(r);
  d.timings = r.timings;
  if (d.finished) d.timings.finished_s = r.timings.finished_s = now;
  if (d.finished && r.kv_export) {
    d.kv_export = std::move(r.kv_export);
    d.rng_position = r.rng.position();
  }
  const FinishReason reason = d.finish_reason;
  r.stream->push(std::move(d));
  return reason;
}

// Imported tokens were sampled under the same grammar elsewhere; the matcher follows them so
// that the tokens sampled here continue the same output.
Status accept_imported_tokens(RequestState& r, const std::vector<int32_t>& tokens) {
  if (!r.matcher) return Status::ok();
  for (int32_t t : tokens) {
    if (!r.matcher->accept_token(t))
      return invalid_argument("imported token " + std::to_string(t) +
                              " is not allowed by the request's output grammar");
  }
  return Status::ok();
}

// Drafts must be real token ids within the per-request limit; anything else is cut off here
// rather than failing the request later.
void sanitize_drafts(Sequence& seq, int max_drafts, int vocab) {
  std::span<const int32_t> drafts = seq.draft_tokens();
  size_t keep = std::min(drafts.size(), static_cast<size_t>(max_drafts));
  for (size_t i = 0; i < keep; ++i) {
    if (drafts[i] < 0 || drafts[i] >= vocab) keep = i;
  }
  if (keep < drafts.size()) {
    std::vector<int32_t> kept(drafts.begin(), drafts.begin() + keep);
    const std::span<const int32_t> parents = seq.draft_parents();
    if (parents.empty()) {
      seq.set_draft_tokens(std::move(kept));
    } else {  // a prefix of a topologically ordered tree is a tree
      seq.set_draft_tree(std::move(kept),
                         std::vector<int32_t>(parents.begin(), parents.begin() + keep));
    }
  }
}

}  // namespace

void Engine::note_finished(int num_requests) {
  if (num_requests == 0) return;
  std::lock_guard<std::mutex> lock(queue_mu_);
  num_unfinished_ -= num_requests;
}

void Engine::end_request(RequestState& r, FinishReason reason, Status error) {
  StreamDelta d;
  d.request_id = r.id;
  d.finished = true;
  d.finish_reason = reason;
  d.error = std::move(error);
  d.usage = usage_of(r);
  r.timings.finished_s = now_s();
  d.timings = r.timings;
  r.stream->push(std::move(d));
  r.finished = true;
}

void Engine::drain_queue() {
  State& s = *state_;
  std::vector<PendingRequest> added;
  std::vector<SeqId> aborted;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    added.swap(added_);
    aborted.swap(aborted_);
  }
  int64_t prompt_tokens = 0;
  for (PendingRequest& p : added) {
    Request req;
    req.id = p.id;
    req.prompt_tokens = p.request.prompt_tokens;
    req.max_output_tokens = p.request.max_tokens;
    req.priority = p.request.priority;
    req.arrival_time_s = p.arrival_s;
    auto state = std::make_unique<RequestState>(p.id, p.request, p.request.max_tokens,
                                                parts_.eos_token_ids, tokenizer(), p.stream);
    state->timings.arrival_s = p.arrival_s;
    state->export_kv = p.request.export_kv;
    if (p.request.imported_kv) {
      // The tokens sampled where the prompt was computed go out first, through the same stop
      // checks and grammar as tokens sampled here; the sequence then continues after them.
      const Status accepted = accept_imported_tokens(*state, p.request.imported_tokens);
      if (!accepted.is_ok()) {
        end_request(*state, FinishReason::kAborted, accepted);
        note_finished(1);
        continue;
      }
      SegmentTokens first;
      first.tokens = p.request.imported_tokens;
      if (emit_tokens(*state, first, now_s()) != FinishReason::kNone) {
        note_finished(1);
        continue;
      }
      state->rng.set_position(p.request.imported_rng_position);
      req.generated_tokens = p.request.imported_tokens;
      req.num_imported_kv_tokens = p.request.imported_kv->num_tokens();
      state->imported_kv = p.request.imported_kv;
    }
    const Status st = s.scheduler.add(req);
    if (!st.is_ok()) {
      end_request(*state, FinishReason::kAborted, st);
      note_finished(1);
      continue;
    }
    prompt_tokens += state->num_prompt_tokens;
    s.requests.emplace(p.id, std::move(state));
  }
  int num_aborted = 0;
  for (SeqId id : aborted) {
    auto it = s.requests.find(id);
    if (it == s.requests.end()) continue;  // already finished (or never existed)
    if (s.scheduler.find(id) != nullptr) XY_CHECK(s.scheduler.abort(id).is_ok());
    if (parts_.proposer) parts_.proposer->release(id);
    end_request(*it->second, FinishReason::kAborted, Status::ok());
    s.requests.erase(it);
    ++num_aborted;
  }
  note_finished(num_aborted);
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_.num_prompt_tokens += prompt_tokens;
  stats_.num_requests_aborted += num_aborted;
}

Status Engine::run_step() {
  State& s = *state_;
  drain_queue();
  if (!s.scheduler.has_unfinished()) {
    s.blocks.begin_step();
    update_gauges();
    return Status::ok();
  }
  propose_drafts();
  const ScheduleDecision d = s.scheduler.schedule();
  for (SeqId id : d.preempted) {
    if (parts_.proposer) parts_.proposer->release(id);
  }
  if (d.empty()) {
    update_gauges();
    return Status::ok();
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (const KvCopyOp& op : d.kv_copies) {
    XY_RETURN_IF_ERROR(s.kv.copy_block_prefix(op.src_block, op.dst_block, op.num_tokens));
  }
  for (const KvImportOp& op : d.kv_imports) {
    RequestState& r = *s.requests.at(op.seq);
    const Sequence& seq = *s.scheduler.find(op.seq);
    XY_CHECK(r.imported_kv != nullptr);
    // Validated at add_request (layout, tokens): a failure here is a bug.
    XY_CHECK(
        scatter_kv_snapshot(*r.imported_kv, s.kv, seq.block_table(), op.begin, op.end).is_ok());
    r.imported_kv.reset();  // written; a later preemption recomputes instead
  }
  const TokenTable table = build_token_table(d, config_.block_size);
  const size_t vocab = static_cast<size_t>(parts_.model->config().vocab_size);
  s.logits.resize(table.logit_rows.size() * vocab);
  const auto f0 = std::chrono::steady_clock::now();
  const Status fw = parts_.model->forward(table, s.kv, s.logits.data(), s.scratch);
  const double forward_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
  s.blocks.begin_step();  // the copy-on-write sources are copied now: unpin them
  if (!fw.is_ok()) {
    fail_step(d, fw);
    return fw;
  }
  const double now = now_s();
  const StepOutcome outcome = process_segments(d, now);
  const double step_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.num_steps;
    stats_.num_prefill_tokens += d.num_prefill_tokens;
    stats_.num_decode_tokens += d.num_decode_tokens;
    stats_.num_verify_tokens += d.num_verify_tokens;
    stats_.num_generated_tokens += outcome.generated;
    stats_.num_preemptions += static_cast<int64_t>(d.preempted.size());
    stats_.num_draft_tokens += outcome.drafts;
    stats_.num_accepted_tokens += outcome.accepted;
    stats_.prefix_cache_queries += outcome.cache_queries;
    stats_.prefix_cache_hits += outcome.cache_hits;
    stats_.num_requests_finished += outcome.finished;
    stats_.total_step_time_s += step_s;
    stats_.total_forward_time_s += forward_s;
    stats_.last_step_time_s = step_s;
    stats_.last_step_prefill_tokens = d.num_prefill_tokens;
    stats_.last_step_decode_tokens = d.num_decode_tokens;
    stats_.last_step_verify_tokens = d.num_verify_tokens;
  }
  update_gauges();
  return Status::ok();
}

void Engine::propose_forced_drafts() {
  State& s = *state_;
  if (config_.max_grammar_forced_tokens == 0 || parts_.tokenizer == nullptr) return;
  for (Sequence* seq : s.scheduler.running()) {
    if (seq->is_prefilling()) continue;
    RequestState& r = *s.requests.at(seq->id());
    if (!seq->draft_tokens().empty()) {
      // The proposer's (it proposes for every decoding sequence each step), or forced drafts
      // of a step that did not schedule this sequence (still valid: nothing was committed).
      if (parts_.proposer && config_.num_speculative_tokens > 0) r.forced_drafts = false;
      continue;
    }
    r.forced_drafts = false;
    if (!r.matcher) continue;
    const std::string forced = r.matcher->forced_text();
    if (forced.empty()) continue;
    Result<std::vector<int32_t>> ids = parts_.tokenizer->encode(forced, false);
    if (!ids.is_ok() || ids->empty()) continue;
    // Keep the tokens the grammar accepts in order (a tokenization always should; a special
    // token matched inside the text would not): advanced on the request's own matcher and rolled
    // back, rather than copying its history every step.
    size_t keep = 0;
    while (keep < ids->size() && keep < static_cast<size_t>(config_.max_grammar_forced_tokens) &&
           r.matcher->accept_token((*ids)[keep])) {
      ++keep;
    }
    r.matcher->rollback(static_cast<int>(keep));
    if (keep == 0) continue;
    ids->resize(keep);
    seq->set_draft_tokens(std::move(*ids));
    r.forced_drafts = true;
  }
}

void Engine::propose_drafts() {
  State& s = *state_;
  if (!parts_.proposer || config_.num_speculative_tokens == 0) {
    propose_forced_drafts();
    return;
  }
  std::vector<Sequence*> decoding;
  for (Sequence* seq : s.scheduler.running()) {
    if (!seq->is_prefilling()) decoding.push_back(seq);
  }
  if (decoding.empty()) return;
  spec::ProposeContext ctx;
  ctx.max_draft_tokens = config_.num_speculative_tokens;
  ctx.step_token_budget = config_.max_num_batched_tokens;
  ctx.num_running = static_cast<int>(s.scheduler.running().size());
  const Status st = parts_.proposer->propose(decoding, ctx);
  const int vocab = parts_.model->config().vocab_size;
  for (Sequence* seq : decoding) {
    // A failed proposal costs only its speedup: the step runs as plain decodes.
    if (!st.is_ok()) seq->set_draft_tokens({});
    sanitize_drafts(*seq, config_.num_speculative_tokens, vocab);
  }
  propose_forced_drafts();  // sequences the proposer left without drafts
}

Engine::StepOutcome Engine::process_segments(const ScheduleDecision& d, double now) {
  State& s = *state_;
  StepOutcome out;
  const size_t vocab = static_cast<size_t>(parts_.model->config().vocab_size);
  struct Retire {
    SeqId id;
    FinishReason reason;
    Status error;
  };
  std::vector<Retire> retire;
  size_t row = 0;
  for (const ScheduledSegment& seg : d.segments) {
    Sequence& seq = *seg.seq;
    RequestState& r = *s.requests.at(seq.id());
    if (r.timings.first_scheduled_s == 0.0) r.timings.first_scheduled_s = now;
    if (seg.num_prefix_hit_tokens > 0 || (seg.kind == SegmentKind::kPrefill && seg.kv_len == 0)) {
      // An admission: the prefix cache was asked for this sequence's tokens.
      if (seq.num_preemptions() == 0) {
        out.cache_queries += seq.num_prompt_tokens();
        out.cache_hits += seg.num_prefix_hit_tokens;
        r.cached_tokens = seq.cached_tokens();
      }
    }
    const int rows = seg.num_logit_rows();
    if (rows == 0) {
      s.scheduler.commit(seq.id(), seg.num_tokens, {});
      continue;
    }
    const std::span<const float> logits(s.logits.data() + row * vocab,
                                        static_cast<size_t>(rows) * vocab);
    row += static_cast<size_t>(rows);
    Result<SegmentTokens> tokens = s.sampler.run(seg, logits, static_cast<int>(vocab), r);
    if (!tokens.is_ok()) {
      retire.push_back({seq.id(), FinishReason::kAborted, tokens.status()});
      continue;
    }
    if (!tokens->accepted_rows.empty()) {  // tree verify: the accepted path's K/V into place
      spec::compact_accepted_kv(s.kv, seq.block_table(), seg.kv_len, tokens->accepted_rows);
    }
    if (r.export_kv && seg.kind == SegmentKind::kPrefill && !r.kv_export) {
      // The prompt's last chunk just ran (this segment samples): its K/V is complete.
      std::span<const int32_t> prompt = seq.prompt_tokens();
      r.kv_export = std::make_shared<const KvSnapshot>(gather_kv_snapshot(
          s.kv, seq.block_table(), std::vector<int32_t>(prompt.begin(), prompt.end())));
    }
    const int computed =
        seg.kind == SegmentKind::kVerify ? 1 + tokens->num_accepted : seg.num_tokens;
    s.scheduler.commit(seq.id(), computed, tokens->tokens);
    if (seg.kind == SegmentKind::kVerify) {
      out.drafts += tokens->num_drafts;
      out.accepted += tokens->num_accepted;
      if (parts_.proposer && !r.forced_drafts) {
        parts_.proposer->observe(seq, tokens->num_drafts, tokens->num_accepted);
      }
    }
    const int before = r.num_generated;
    const FinishReason reason = emit_tokens(r, *tokens, now);
    out.generated += r.num_generated - before;
    if (reason != FinishReason::kNone) {
      retire.push_back({seq.id(), reason, Status::ok()});
    } else if (r.matcher) {
      s.masks.prefetch(*r.matcher);  // ready by the next step's sampling, usually
    }
  }
  for (Retire& x : retire) {
    s.scheduler.finish(x.id,
                       x.reason == FinishReason::kAborted ? FinishReason::kAborted : x.reason);
    if (parts_.proposer) parts_.proposer->release(x.id);
    auto it = s.requests.find(x.id);
    if (!x.error.is_ok()) end_request(*it->second, FinishReason::kAborted, x.error);
    s.requests.erase(it);
  }
  out.finished = static_cast<int>(retire.size());
  note_finished(out.finished);
  return out;
}

void Engine::fail_step(const ScheduleDecision& d, const Status& error) {
  State& s = *state_;
  int n = 0;
  for (const ScheduledSegment& seg : d.segments) {
    const SeqId id = seg.seq->id();
    auto it = s.requests.find(id);
    if (it == s.requests.end()) continue;
    s.scheduler.finish(id, FinishReason::kAborted);
    if (parts_.proposer) parts_.proposer->release(id);
    end_request(*it->second, FinishReason::kAborted, error);
    s.requests.erase(it);
    ++n;
  }
  note_finished(n);
}

void Engine::update_gauges() {
  State& s = *state_;
  size_t queued;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    queued = added_.size();
  }
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_.num_running = static_cast<int>(s.scheduler.running().size());
  stats_.num_waiting = static_cast<int>(s.scheduler.waiting().size() + queued);
  stats_.num_free_kv_blocks = s.blocks.num_reclaimable_blocks();
}

}  // namespace xy
