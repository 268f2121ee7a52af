#include "server/generation_job.h"

#include <spdlog/spdlog.h>

#include "server/openai_format.h"
#include "tokenizer/tokenizer.h"

namespace xy::server {

using json = nlohmann::json;

GenerationJob::GenerationJob(JobSpec spec, std::shared_ptr<ResponseSink> sink, Engine& engine,
                             const Tokenizer& tokenizer, ServerMetrics& metrics,
                             JobCounters& counters)
    : spec_(std::move(spec)),
      sink_(std::move(sink)),
      engine_(engine),
      tokenizer_(tokenizer),
      metrics_(metrics),
      counters_(counters) {
  counters_.jobs_in_flight.fetch_add(1);
}

GenerationJob::~GenerationJob() {
  counters_.jobs_in_flight.fetch_sub(1);
}

Status GenerationJob::start(std::vector<EngineRequest> requests, StreamPump& pump) {
  const int n = spec_.gen.n;
  choices_.resize(requests.size());
  std::vector<RequestHandle> handles;
  handles.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].notifier = pump.notifier();  // the pump sleeps until a delta arrives
    Result<RequestHandle> h = engine_.add_request(std::move(requests[i]));
    if (!h.is_ok()) {
      for (const RequestHandle& done : handles) engine_.abort(done.id);
      return h.status();
    }
    choices_[i].engine_id = h->id;
    choices_[i].prompt_index = int(i) / n;
    choices_[i].tool_stream = make_tool_stream();
    handles.push_back(std::move(*h));
  }
  counters_.choices_not_started.fetch_add(int(handles.size()));
  if (spec_.gen.stream) sink_->start_stream();
  // Set before any delta can arrive: a client already gone aborts at once.
  std::weak_ptr<GenerationJob> weak = weak_from_this();
  sink_->on_disconnect([weak] {
    if (auto self = weak.lock()) self->abort();
  });
  auto self = shared_from_this();
  for (size_t i = 0; i < handles.size(); ++i) {
    pump.add(handles[i].stream, [self, i](StreamDelta&& d) { self->on_delta(i, std::move(d)); });
  }
  return Status::ok();
}

void GenerationJob::abort() {
  if (aborted_.exchange(true)) return;
  for (const Choice& c : choices_) engine_.abort(c.engine_id);
}

std::optional<chat::ToolCallStream> GenerationJob::make_tool_stream() const {
  switch (spec_.tools.mode) {
    case ToolOutput::Mode::kNone:
      return std::nullopt;
    case ToolOutput::Mode::kAuto:
      return chat::ToolCallStream::automatic(spec_.tools.format);
    case ToolOutput::Mode::kRequired:
      return chat::ToolCallStream::required();
    case ToolOutput::Mode::kNamed:
      return chat::ToolCallStream::named(spec_.tools.name);
  }
  return std::nullopt;
}

// A chat choice that produced tool calls ends with "tool_calls" (unless cut by the length).
static json choice_finish_reason(FinishReason reason,
                                 const std::optional<chat::ToolCallStream>& tools) {
  if (reason == FinishReason::kStop && tools && tools->num_calls() > 0) return "tool_calls";
  return finish_reason_json(reason);
}

json GenerationJob::chunk_base() const {
  return json{{"id", spec_.id},
              {"object", spec_.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", spec_.created},
              {"model", spec_.model}};
}

void GenerationJob::on_delta(size_t i, StreamDelta&& d) {
  Choice& c = choices_[i];
  if (!c.got_output && (!d.token_ids.empty() || d.finished)) {
    c.got_output = true;
    c.first_output = std::chrono::steady_clock::now();
    counters_.choices_not_started.fetch_sub(1);
  }
  if (d.timings.first_scheduled_s > 0)
    c.queue_time_s = d.timings.first_scheduled_s - d.timings.arrival_s;
  c.completion_tokens = d.usage.completion_tokens;
  c.cached_tokens = d.usage.cached_tokens;
  c.token_times.insert(c.token_times.end(), d.token_times_s.begin(), d.token_times_s.end());
  if (spec_.export_kv)
    c.token_ids.insert(c.token_ids.end(), d.token_ids.begin(), d.token_ids.end());
  if (spec_.gen.stream) {
    if (!aborted_.load() && !failed_) stream_delta(i, d);
  } else {
    c.text += d.text;
    for (TokenLogprobs& lp : d.logprobs) c.logprobs.push_back(std::move(lp));
  }
  if (!d.finished) return;
  c.finished = true;
  c.final_delta.finish_reason = d.finish_reason;
  c.final_delta.stop_string = d.stop_string;
  c.final_delta.stop_token_id = d.stop_token_id;
  c.final_delta.error = d.error;
  c.final_delta.usage = d.usage;
  c.final_delta.timings = d.timings;
  c.final_delta.num_preemptions = d.num_preemptions;
  if (spec_.export_kv && d.kv_export)
    c.kv_transfer = spec_.export_kv(d.kv_export, c.token_ids, d.rng_position);
  record(i);
  if (++num_finished_ == choices_.size()) finish_all();
}

void GenerationJob::stream_delta(size_t i, const StreamDelta& d) {
  Choice& c = choices_[i];
  const GenerationOptions& g = spec_.gen;
  if (d.finished && d.finish_reason == FinishReason::kAborted) {
    // Not the client's abort (then nothing is sent): the engine failed or is shutting down.
    failed_ = true;
    const std::string why = d.error.is_ok()
                                ? "the request was aborted by the server (shutting down)"
                                : "generation failed: " + d.error.message();
    sink_->event(ApiError{d.error.is_ok() ? 503 : 500, "server_error", why, "", ""}.to_json());
    return;
  }
  json chunk = chunk_base();
  json choice = {{"index", i}};
  bool has_content = !d.text.empty() || !d.logprobs.empty();
  std::string text = d.text;
  if (!spec_.chat && !c.role_sent) {
    // Completions echo: the prompt text leads the first chunk of each choice.
    c.role_sent = true;
    if (spec_.gen.stream && !spec_.echo_text.empty()) {
      text = spec_.echo_text[size_t(c.prompt_index)] + text;
      has_content = has_content || !text.empty();
    }
  }
  if (spec_.chat) {
    if (!c.role_sent) {
      c.role_sent = true;
      json first = chunk;
      first["choices"] = json::array({json{{"index", i},
                                           {"delta", {{"role", "assistant"}, {"content", ""}}},
                                           {"logprobs", nullptr},
                                           {"finish_reason", nullptr}}});
      if (g.include_usage) first["usage"] = nullptr;
      sink_->event(dump_json(first));
    }
    if (c.tool_stream) {
      chat::ToolCallStreamOutput o = c.tool_stream->feed(text);
      if (d.finished) {
        chat::ToolCallStreamOutput tail = c.tool_stream->finish();
        o.content += tail.content;
        o.calls.insert(o.calls.end(), tail.calls.begin(), tail.calls.end());
      }
      json delta = json::object();
      if (!o.content.empty()) delta["content"] = o.content;
      if (!o.calls.empty()) delta["tool_calls"] = tool_call_deltas_json(o.calls);
      has_content = !o.empty() || !d.logprobs.empty();
      choice["delta"] = std::move(delta);
    } else {
      choice["delta"] = has_content ? json{{"content", text}} : json::object();
    }
    choice["logprobs"] = g.logprobs && !d.logprobs.empty()
                             ? json{{"content", chat_logprobs_content(tokenizer_, d.logprobs)}}
                             : json(nullptr);
  } else {
    choice["text"] = text;
    choice["logprobs"] = g.logprobs && !d.logprobs.empty()
                             ? completion_logprobs(tokenizer_, d.logprobs, c.text_bytes_sent)
                             : json(nullptr);
  }
  c.text_bytes_sent += text.size();
  const bool finished = d.finished && d.finish_reason != FinishReason::kAborted;
  if (!has_content && !finished) return;  // nothing a client could see
  choice["finish_reason"] =
      finished ? choice_finish_reason(d.finish_reason, c.tool_stream) : json(nullptr);
  if (finished) choice["stop_reason"] = stop_reason_json(d);
  chunk["choices"] = json::array({std::move(choice)});
  if (g.continuous_usage_stats) {
    chunk["usage"] = usage_json(spec_.prompt_tokens[size_t(c.prompt_index)],
                                d.usage.completion_tokens, d.usage.cached_tokens);
  } else if (g.include_usage) {
    chunk["usage"] = nullptr;
  }
  if (!sink_->event(dump_json(chunk))) abort();  // client gone or too slow to read
}

void GenerationJob::finish_all() {
  if (aborted_.load() || sink_->client_gone()) return;  // nobody to answer
  const GenerationOptions& g = spec_.gen;
  int prompt_total = 0, completion_total = 0, cached_total = 0;
  for (size_t p = 0; p < spec_.prompt_tokens.size(); ++p) prompt_total += spec_.prompt_tokens[p];
  for (const Choice& c : choices_) {
    completion_total += c.completion_tokens;
    cached_total += c.cached_tokens;
  }
  // Cached tokens are counted per prompt, not per choice: choices of one prompt share it.
  cached_total = 0;
  for (size_t i = 0; i < choices_.size(); i += size_t(g.n))
    cached_total += choices_[i].cached_tokens;
  const json usage = usage_json(prompt_total, completion_total, cached_total);

  if (g.stream) {
    if (failed_) {
      sink_->event("[DONE]");
      sink_->end_stream();
      return;
    }
    if (g.include_usage) {
      json last = chunk_base();
      last["choices"] = json::array();
      last["usage"] = usage;
      sink_->event(dump_json(last));
    }
    sink_->event("[DONE]");
    sink_->end_stream();
    metrics_.on_http_response(200);
    return;
  }
  for (const Choice& c : choices_) {
    if (c.final_delta.finish_reason != FinishReason::kAborted) continue;
    const bool failed = !c.final_delta.error.is_ok();
    HttpResponse r;
    r.status = failed ? 500 : 503;
    r.body = ApiError{r.status, "server_error",
                      failed ? "generation failed: " + c.final_delta.error.message()
                             : "the request was aborted by the server (shutting down)",
                      "", ""}
                 .to_json();
    metrics_.on_http_response(r.status);
    sink_->send(std::move(r));
    return;
  }
  for (const Choice& c : choices_) {
    if (!c.kv_transfer || c.kv_transfer->is_ok()) continue;
    const ApiError e = api_error_from_status(c.kv_transfer->status());
    HttpResponse r;
    r.status = e.http_status == 429 ? 503 : e.http_status;
    r.body = ApiError{r.status, "server_error", e.message, "", "kv_export_failed"}.to_json();
    metrics_.on_http_response(r.status);
    sink_->send(std::move(r));
    return;
  }
  json out = {{"id", spec_.id},
              {"object", spec_.chat ? "chat.completion" : "text_completion"},
              {"created", spec_.created},
              {"model", spec_.model}};
  json choices = json::array();
  for (size_t i = 0; i < choices_.size(); ++i) {
    Choice& c = choices_[i];
    json choice = {{"index", i}};
    if (spec_.chat && c.tool_stream) {
      chat::ToolCallStreamOutput o = c.tool_stream->feed(c.text);
      chat::ToolCallStreamOutput tail = c.tool_stream->finish();
      o.content += tail.content;
      o.calls.insert(o.calls.end(), tail.calls.begin(), tail.calls.end());
      choice["message"] = {
          {"role", "assistant"},
          {"content", o.content.empty() && !o.calls.empty() ? json(nullptr) : json(o.content)}};
      if (!o.calls.empty()) choice["message"]["tool_calls"] = tool_calls_json(o.calls);
      choice["logprobs"] = g.logprobs
                               ? json{{"content", chat_logprobs_content(tokenizer_, c.logprobs)}}
                               : json(nullptr);
    } else if (spec_.chat) {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
      choice["logprobs"] = g.logprobs
                               ? json{{"content", chat_logprobs_content(tokenizer_, c.logprobs)}}
                               : json(nullptr);
    } else {
      const std::string echo =
          spec_.echo_text.empty() ? "" : spec_.echo_text[size_t(c.prompt_index)];
      choice["text"] = echo + c.text;
      choice["logprobs"] =
          g.logprobs ? completion_logprobs(tokenizer_, c.logprobs, echo.size()) : json(nullptr);
    }
    choice["finish_reason"] = choice_finish_reason(c.final_delta.finish_reason, c.tool_stream);
    choice["stop_reason"] = stop_reason_json(c.final_delta);
    choices.push_back(std::move(choice));
  }
  out["choices"] = std::move(choices);
  out["usage"] = usage;
  if (!choices_.empty() && choices_[0].kv_transfer)
    out["kv_transfer_params"] = **choices_[0].kv_transfer;
  HttpResponse r;
  r.body = dump_json(out);
  metrics_.on_http_response(200);
  sink_->send(std::move(r));
}

void GenerationJob::record(size_t i) {
  const Choice& c = choices_[i];
  const StreamDelta& f = c.final_delta;
  RequestRecord rec;
  rec.prompt_tokens = f.usage.prompt_tokens;
  rec.generation_tokens = f.usage.completion_tokens;
  rec.cached_tokens = f.usage.cached_tokens;
  rec.queue_time_s = c.queue_time_s;
  const auto now = std::chrono::steady_clock::now();
  rec.e2e_s = std::chrono::duration<double>(now - start_).count();
  if (!c.token_times.empty()) {
    // Server-side TTFT (as a client sees it, including tokenization and queueing), engine-clock
    // inter-token gaps (free of the pump thread's scheduling jitter).
    rec.ttft_s = std::chrono::duration<double>(c.first_output - start_).count();
    for (size_t k = 1; k < c.token_times.size(); ++k)
      rec.inter_token_s.push_back(c.token_times[k] - c.token_times[k - 1]);
  }
  if (!f.error.is_ok())
    rec.finish_reason = "error";
  else if (f.finish_reason == FinishReason::kAborted)
    rec.finish_reason = "abort";
  else
    rec.finish_reason =
        finish_reason_name(f.finish_reason) ? finish_reason_name(f.finish_reason) : "stop";
  metrics_.on_request_finished(rec);
  const double tpot_ms = c.token_times.size() > 1
                             ? 1000.0 * (c.token_times.back() - c.token_times.front()) /
                                   double(c.token_times.size() - 1)
                             : 0.0;
  spdlog::info(
      "request {} choice={} prompt_tokens={} cached_tokens={} completion_tokens={} "
      "queue={:.3f}s ttft={:.3f}s tpot={:.1f}ms e2e={:.3f}s preemptions={} finish={}{}",
      spec_.id, i, rec.prompt_tokens, rec.cached_tokens, rec.generation_tokens,
      std::max(0.0, rec.queue_time_s), std::max(0.0, rec.ttft_s), tpot_ms, rec.e2e_s,
      f.num_preemptions, rec.finish_reason,
      f.error.is_ok() ? "" : " error=\"" + f.error.message() + "\"");
}

}  // namespace xy::server
