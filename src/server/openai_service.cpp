#include "server/openai_service.h"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

#include "model/model.h"
#include "server/bearer_auth.h"
#include "server/openai_format.h"
#include "server/stats_json.h"
#include "server/structured_output.h"
#include "server/web_assets.h"
#include "tokenizer/tokenizer.h"

namespace xy::server {

using json = nlohmann::json;

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse json_response(const json& j, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = dump_json(j);
  return r;
}

struct Route {
  const char* path;
  const char* method;
};
constexpr Route kRoutes[] = {
    {"/v1/completions", "POST"}, {"/v1/chat/completions", "POST"},
    {"/v1/models", "GET"},       {"/health", "GET"},
    {"/metrics", "GET"},         {"/tokenize", "POST"},
    {"/detokenize", "POST"},     {"/ping", "GET"},
    {"/stats", "GET"},
};

}  // namespace

OpenAIService::OpenAIService(ServiceOptions options)
    : options_(std::move(options)), created_(unix_now()), metrics_(options_.served_model_name) {
  std::random_device rd;
  next_id_.store((uint64_t(rd()) << 32 | rd()) & 0xffffffffffffull);
}

OpenAIService::~OpenAIService() {
  stop();
}

void OpenAIService::set_ready(Engine* engine, const Tokenizer* tokenizer,
                              const GenerationDefaults& defaults) {
  engine_ = engine;
  defaults_ = defaults;
  tokenizer_ = tokenizer;
  max_model_len_ = engine->config().max_model_len;
  if (max_model_len_ <= 0) max_model_len_ = engine->stats().max_model_len;
  const std::string& source = tokenizer->chat_template();
  if (source.empty()) {
    chat_template_error_ = "the model has no chat template (tokenizer_config.json chat_template)";
  } else if (Result<ChatTemplate> t = ChatTemplate::parse(source); t.is_ok()) {
    chat_template_.emplace(std::move(*t));
  } else {
    chat_template_error_ = "the model's chat template does not parse: " + t.status().message();
  }
  grammars_ = std::make_unique<grammar::GrammarCompiler>(
      grammar::TokenVocabulary::from_tokenizer(*tokenizer, engine->model().config().vocab_size));
  if (!options_.tool_call_parser.empty()) {
    tool_format_ = chat::tool_call_format_from_name(options_.tool_call_parser);
  } else {
    tool_format_ = chat::detect_tool_call_format(source);
  }
  pump_ = std::make_unique<StreamPump>([engine] { return engine->stats(); },
                                       [this](const EngineStats& prev, const EngineStats& cur) {
                                         metrics_.on_engine_stats(prev, cur);
                                       });
  ready_.store(true);
}

void OpenAIService::stop() {
  if (pump_) pump_->stop();
}

void OpenAIService::reply(ResponseSink& sink, HttpResponse r) {
  metrics_.on_http_response(r.status);
  sink.send(std::move(r));
}

void OpenAIService::reply_error(ResponseSink& sink, const ApiError& e) {
  HttpResponse r;
  r.status = e.http_status;
  r.body = e.to_json();
  if (e.http_status == 429)
    r.headers.emplace_back("Retry-After", std::to_string(options_.retry_after_s));
  if (e.http_status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  reply(sink, std::move(r));
}

void OpenAIService::handle(HttpRequest req, std::shared_ptr<ResponseSink> sink) {
  // The web page is public (it asks for the API key itself) and served while the model loads.
  if (is_web_path(req.target)) {
    if (req.method != "GET" && req.method != "HEAD") {
      ApiError e{
          405, "invalid_request_error",
          "method " + req.method + " not allowed for " + req.target + " (allowed: GET, HEAD)", "",
          "method_not_allowed"};
      HttpResponse r;
      r.status = 405;
      r.body = e.to_json();
      r.headers.emplace_back("Allow", "GET, HEAD");
      return reply(*sink, std::move(r));
    }
    return reply(*sink, web_asset_response(req));
  }
  const Route* route = nullptr;
  bool path_known = false;
  std::string allowed;
  for (const Route& r : kRoutes) {
    if (req.target != r.path) continue;
    path_known = true;
    allowed = r.method;
    if (req.method == r.method || (req.method == "HEAD" && std::string(r.method) == "GET"))
      route = &r;
  }
  if (!path_known && req.target.rfind("/v1/models/", 0) == 0) {
    path_known = true;
    allowed = "GET";
    static constexpr Route kModel{"/v1/models/{model}", "GET"};
    if (req.method == "GET") route = &kModel;
  }
  if (!path_known) {
    return reply_error(*sink, not_found_error("no route for " + req.method + " " + req.target));
  }
  if (!route) {
    ApiError e{
        405, "invalid_request_error",
        "method " + req.method + " not allowed for " + req.target + " (allowed: " + allowed + ")",
        "", "method_not_allowed"};
    HttpResponse r;
    r.status = 405;
    r.body = e.to_json();
    r.headers.emplace_back("Allow", allowed);
    return reply(*sink, std::move(r));
  }
  const std::string path = route->path;
  // vLLM protects /v1/*; liveness, metrics and the tokenizer helpers stay open.
  if (!options_.api_key.empty() && path.rfind("/v1/", 0) == 0) {
    if (!has_bearer_key(req, options_.api_key)) {
      return reply_error(*sink, ApiError{401, "authentication_error", "invalid or missing API key",
                                         "", "invalid_api_key"});
    }
  }
  if (path == "/health" || path == "/ping") {
    HttpResponse r;
    r.content_type = "application/json";
    if (!ready_.load()) {
      r.status = 503;
      r.body = R"({"status":"loading"})";
    } else if (draining_.load()) {
      r.status = 503;
      r.body = R"({"status":"shutting down"})";
    } else {
      r.body = R"({"status":"ok"})";
    }
    return reply(*sink, std::move(r));
  }
  if (!ready_.load()) {
    return reply_error(*sink,
                       ApiError{503, "server_error", "the model is still loading", "", "loading"});
  }
  if (path == "/metrics") return handle_metrics(*sink);
  if (path == "/stats") return handle_stats(*sink);
  if (path == "/v1/models") return handle_models(*sink, "");
  if (path == "/v1/models/{model}") return handle_models(*sink, req.target.substr(11));
  if (path == "/tokenize") return handle_tokenize(req, *sink);
  if (path == "/detokenize") return handle_detokenize(req, *sink);
  if (draining_.load()) {
    return reply_error(
        *sink, ApiError{503, "server_error", "the server is shutting down", "", "shutting_down"});
  }
  handle_completions(req, std::move(sink), path == "/v1/chat/completions");
}

std::optional<ApiError> OpenAIService::check_model(const std::string& model) const {
  if (model.empty() || model == options_.served_model_name) return std::nullopt;
  return ApiError{400, "invalid_request_error",
                  "The model `" + model + "` does not exist (this server serves `" +
                      options_.served_model_name + "`)",
                  "model", "model_not_found"};
}

std::optional<ApiError> OpenAIService::check_length(int prompt_tokens,
                                                    std::optional<int> max_tokens) const {
  if (prompt_tokens >= max_model_len_) {
    return bad_request(
        "This model's maximum context length is " + std::to_string(max_model_len_) +
            " tokens. However, your prompt has " + std::to_string(prompt_tokens) +
            " tokens, which leaves no room for output. Please reduce the length of the prompt.",
        "messages", "context_length_exceeded");
  }
  if (max_tokens && int64_t(prompt_tokens) + *max_tokens > max_model_len_) {
    return bad_request(
        "This model's maximum context length is " + std::to_string(max_model_len_) +
            " tokens. However, you requested " +
            std::to_string(int64_t(prompt_tokens) + *max_tokens) + " tokens (" +
            std::to_string(prompt_tokens) + " in the prompt, " + std::to_string(*max_tokens) +
            " for the completion). Please reduce the length of the prompt or max_tokens.",
        "max_tokens", "context_length_exceeded");
  }
  return std::nullopt;
}

Result<std::string> OpenAIService::render_chat(const nlohmann::ordered_json& messages,
                                               const nlohmann::ordered_json& tools,
                                               bool add_generation_prompt,
                                               bool continue_final_message,
                                               const nlohmann::ordered_json& kwargs) const {
  if (!chat_template_) return invalid_argument(chat_template_error_);
  ChatTemplateOptions o;
  o.add_generation_prompt = add_generation_prompt;
  o.bos_token = tokenizer_->bos_token();
  o.eos_token = tokenizer_->eos_token();
  o.tools = tools;
  o.extra_context = kwargs;
  XY_ASSIGN_OR_RETURN(std::string text, chat_template_->render(messages, o));
  if (continue_final_message) {
    // Cut after the last message's content so the model continues it (vLLM's semantics).
    const auto& last = messages.back()["content"];
    if (last.is_string()) {
      const std::string content = last.get<std::string>();
      const size_t at = text.rfind(content);
      if (at != std::string::npos) text.resize(at + content.size());
    }
  }
  return text;
}

void OpenAIService::handle_completions(const HttpRequest& req, std::shared_ptr<ResponseSink> sink,
                                       bool chat) {
  JobSpec spec;
  spec.chat = chat;
  spec.created = unix_now();
  spec.model = options_.served_model_name;
  char idbuf[40];
  std::snprintf(idbuf, sizeof(idbuf), "%s%016llx", chat ? "chatcmpl-" : "cmpl-",
                static_cast<unsigned long long>(next_id_.fetch_add(1)));
  spec.id = idbuf;

  std::vector<std::vector<int32_t>> prompts;
  OutputPlan plan;
  if (chat) {
    auto parsed = parse_chat_completion_request(req.body);
    if (auto* e = std::get_if<ApiError>(&parsed)) return reply_error(*sink, *e);
    auto& r = std::get<ChatCompletionRequest>(parsed);
    if (auto e = check_model(r.gen.model)) return reply_error(*sink, *e);
    auto planned = plan_output(r.gen, &r, tool_format_);
    if (auto* e = std::get_if<ApiError>(&planned)) return reply_error(*sink, *e);
    plan = std::move(std::get<OutputPlan>(planned));
    Result<std::string> text = render_chat(r.messages, r.tools, r.add_generation_prompt,
                                           r.continue_final_message, r.chat_template_kwargs);
    if (!text.is_ok()) return reply_error(*sink, api_error_from_status(text.status(), "messages"));
    // The template already placed BOS and other special tokens as text.
    Result<std::vector<int32_t>> ids = tokenizer_->encode(*text, /*add_special_tokens=*/false);
    if (!ids.is_ok()) return reply_error(*sink, api_error_from_status(ids.status(), "messages"));
    prompts.push_back(std::move(*ids));
    spec.gen = std::move(r.gen);
  } else {
    auto parsed = parse_completion_request(req.body);
    if (auto* e = std::get_if<ApiError>(&parsed)) return reply_error(*sink, *e);
    auto& r = std::get<CompletionRequest>(parsed);
    if (auto e = check_model(r.gen.model)) return reply_error(*sink, *e);
    auto planned = plan_output(r.gen, nullptr, std::nullopt);
    if (auto* e = std::get_if<ApiError>(&planned)) return reply_error(*sink, *e);
    plan = std::move(std::get<OutputPlan>(planned));
    for (const PromptInput& p : r.prompts) {
      if (const auto* text = std::get_if<std::string>(&p.value)) {
        Result<std::vector<int32_t>> ids = tokenizer_->encode(*text, /*add_special_tokens=*/true);
        if (!ids.is_ok()) return reply_error(*sink, api_error_from_status(ids.status(), "prompt"));
        if (ids->empty())
          return reply_error(*sink, bad_request("the prompt encodes to no tokens", "prompt"));
        if (r.echo) spec.echo_text.push_back(*text);
        prompts.push_back(std::move(*ids));
      } else {
        const auto& ids = std::get<std::vector<int32_t>>(p.value);
        for (int32_t id : ids) {
          if (id >= tokenizer_->vocab_size() || id >= engine_->model().config().vocab_size) {
            return reply_error(*sink, bad_request("prompt token id " + std::to_string(id) +
                                                      " is outside the vocabulary",
                                                  "prompt"));
          }
        }
        if (r.echo) spec.echo_text.push_back(tokenizer_->decode(ids, false));
        prompts.push_back(ids);
      }
    }
    spec.gen = std::move(r.gen);
  }
  GenerationOptions& g = spec.gen;
  apply_generation_defaults(g);
  if (Status st = g.sampling.validate(); !st.is_ok()) {
    return reply_error(*sink,
                       bad_request("the model's generation_config.json default: " + st.message()));
  }
  const int vocab = engine_->model().config().vocab_size;
  if (Status st = g.sampling.validate_token_ids(vocab); !st.is_ok()) {
    return reply_error(*sink, api_error_from_status(st, "logit_bias"));
  }
  for (int32_t id : g.stop_token_ids) {
    if (id >= vocab) {
      return reply_error(*sink, bad_request("stop_token_ids: token " + std::to_string(id) +
                                                " is outside the vocabulary",
                                            "stop_token_ids"));
    }
  }
  std::shared_ptr<const grammar::CompiledGrammar> grammar;
  if (plan.grammar) {
    auto compiled = compile_grammar(*plan.grammar, plan.param);
    if (auto* e = std::get_if<ApiError>(&compiled)) return reply_error(*sink, *e);
    grammar = std::get<std::shared_ptr<const grammar::CompiledGrammar>>(std::move(compiled));
  }
  spec.tools = plan.tools;
  // Mistral's and Llama's call markers are special tokens: keep them in the text to parse.
  if (plan.tools.mode == ToolOutput::Mode::kAuto &&
      plan.tools.format != chat::ToolCallFormat::kHermes) {
    g.skip_special_tokens = false;
  }
  bool echo = !spec.echo_text.empty();
  std::vector<EngineRequest> requests;
  for (const auto& ids : prompts) {
    if (auto e = check_length(int(ids.size()), g.max_tokens)) return reply_error(*sink, *e);
    spec.prompt_tokens.push_back(int(ids.size()));
    for (int i = 0; i < g.n; ++i) {
      EngineRequest er;
      er.prompt_tokens = ids;
      er.sampling = g.sampling;
      // n choices of a seeded request differ from each other yet reproduce as a set.
      if (er.sampling.seed && i > 0) er.sampling.seed = *er.sampling.seed + uint64_t(i);
      er.stop.stop_strings = g.stop;
      er.stop.stop_token_ids = g.stop_token_ids;
      er.stop.ignore_eos = g.ignore_eos;
      er.stop.include_stop_str_in_output = g.include_stop_str_in_output;
      er.max_tokens = g.max_tokens.value_or(max_model_len_ - int(ids.size()));
      er.priority = g.priority;
      er.skip_special_tokens = g.skip_special_tokens;
      er.grammar = grammar;
      requests.push_back(std::move(er));
    }
  }
  // Admission: the waiting queue is choices submitted that have produced nothing yet.
  const int waiting = counters_.choices_not_started.load();
  if (waiting + int(requests.size()) > options_.max_queued_requests) {
    return reply_error(*sink,
                       ApiError{429, "rate_limit_error",
                                "the server's waiting queue is full (" + std::to_string(waiting) +
                                    " requests waiting, --max-queued-requests " +
                                    std::to_string(options_.max_queued_requests) + "); retry later",
                                "", "queue_full"});
  }
  if (spec.gen.kv_transfer && !apply_kv_transfer(spec, requests, sink, echo)) return;
  auto job = std::make_shared<GenerationJob>(std::move(spec), sink, *engine_, *tokenizer_, metrics_,
                                             counters_);
  if (Status st = job->start(std::move(requests), *pump_); !st.is_ok()) {
    if (st.code() == ErrorCode::kResourceExhausted) {
      return reply_error(*sink, ApiError{503, "server_error", st.message(), "", "shutting_down"});
    }
    return reply_error(*sink, api_error_from_status(st));
  }
}

bool OpenAIService::apply_kv_transfer(JobSpec& spec, std::vector<EngineRequest>& requests,
                                      std::shared_ptr<ResponseSink>& sink, bool echo) {
  const KvTransferParams kv = *spec.gen.kv_transfer;  // a copy: spec moves into the job below
  if (!kv.do_remote_decode && !kv.do_remote_prefill) return true;
  if (disaggregation_ == nullptr) {
    reply_error(*sink, bad_request("kv_transfer_params: this instance does not take part in "
                                   "disaggregated serving",
                                   "kv_transfer_params"));
    return false;
  }
  if (requests.size() != 1) {
    reply_error(*sink,
                bad_request("kv_transfer_params needs one prompt and n = 1", "kv_transfer_params"));
    return false;
  }
  if (kv.do_remote_decode) {
    // Prefill only: the first token is sampled here, the rest on the decode instance.
    requests[0].export_kv = true;
    requests[0].max_tokens = 1;
    spec.gen.stream = false;
    Disaggregation* d = disaggregation_;
    spec.export_kv = [d](std::shared_ptr<const KvSnapshot> snapshot,
                         const std::vector<int32_t>& sampled, uint64_t rng_position) {
      return d->export_kv(std::move(snapshot), sampled, rng_position);
    };
    return true;
  }
  if (spec.gen.logprobs || echo) {
    reply_error(*sink, bad_request("kv_transfer_params.do_remote_prefill does not combine with "
                                   "logprobs or echo (the first token was sampled elsewhere)",
                                   "kv_transfer_params"));
    return false;
  }
  // Decode: pull the prompt's K/V, then start the job. The job exists from now on, so a
  // draining server waits for it; a client that leaves cancels the pull.
  requests[0].imported_tokens = kv.sampled_token_ids;
  requests[0].imported_rng_position = kv.rng_position;
  const int num_tokens = static_cast<int>(requests[0].prompt_tokens.size());
  auto job = std::make_shared<GenerationJob>(std::move(spec), sink, *engine_, *tokenizer_, metrics_,
                                             counters_);
  auto pending = std::make_shared<std::vector<EngineRequest>>(std::move(requests));
  std::shared_ptr<ResponseSink> client = sink;
  // The disconnect hook goes in before the pull starts, so that it is queued on the
  // connection before the job's own hook (set when the job starts) and never replaces it.
  struct PullSlot {
    std::mutex mu;
    std::shared_ptr<cluster::KvPull> pull;
    bool gone = false;
  };
  auto slot = std::make_shared<PullSlot>();
  sink->on_disconnect([slot] {
    std::shared_ptr<cluster::KvPull> p;
    {
      std::lock_guard lock(slot->mu);
      slot->gone = true;
      p = slot->pull;
    }
    if (p) p->cancel();
  });
  auto pulled = disaggregation_->pull(
      kv, engine_->kv_layout(), num_tokens, [this, job, pending, client](Result<KvSnapshot> got) {
        if (client->client_gone()) return;
        if (!got.is_ok()) {
          const Status& st = got.status();
          const int status = st.code() == ErrorCode::kInvalidArgument ? 400 : 502;
          reply_error(*client,
                      ApiError{status, status == 400 ? "invalid_request_error" : "server_error",
                               "kv_transfer_params: " + st.message(), "kv_transfer_params",
                               "kv_transfer_failed"});
          return;
        }
        (*pending)[0].imported_kv = std::make_shared<const KvSnapshot>(std::move(*got));
        if (Status st = job->start(std::move(*pending), *pump_); !st.is_ok()) {
          reply_error(*client,
                      st.code() == ErrorCode::kResourceExhausted
                          ? ApiError{503, "server_error", st.message(), "", "shutting_down"}
                          : api_error_from_status(st, "kv_transfer_params"));
        }
      });
  if (!pulled.is_ok()) {
    reply_error(*client,
                ApiError{502, "server_error", "kv_transfer_params: " + pulled.status().message(),
                         "kv_transfer_params", "kv_transfer_failed"});
    return false;
  }
  std::shared_ptr<cluster::KvPull> pull = *pulled;
  bool cancel_now = false;
  {
    std::lock_guard lock(slot->mu);
    slot->pull = pull;
    cancel_now = slot->gone;
  }
  if (cancel_now) pull->cancel();
  return false;
}

std::variant<std::shared_ptr<const grammar::CompiledGrammar>, ApiError>
OpenAIService::compile_grammar(const grammar::GrammarSpec& spec, const std::string& param) {
  Result<std::shared_ptr<const grammar::CompiledGrammar>> g = grammars_->compile(spec);
  if (g.is_ok()) return *g;
  const Status& st = g.status();
  if (st.code() == ErrorCode::kUnsupported) {
    return bad_request("unsupported in '" + param + "': " + st.message(), param,
                       "unsupported_feature");
  }
  return bad_request("invalid '" + param + "': " + st.message(), param);
}

void OpenAIService::apply_generation_defaults(GenerationOptions& g) const {
  SamplingParams& s = g.sampling;
  const GenerationDefaults& d = defaults_;
  if (!g.sampling_set.temperature) {
    if (d.do_sample.has_value() && !*d.do_sample) {
      s.temperature = 0.0f;  // the model asks for greedy decoding
    } else if (d.temperature) {
      s.temperature = *d.temperature;
    }
  }
  if (!g.sampling_set.top_p && d.top_p) s.top_p = *d.top_p;
  if (!g.sampling_set.top_k && d.top_k) s.top_k = *d.top_k;
  if (!g.sampling_set.min_p && d.min_p) s.min_p = *d.min_p;
  if (!g.sampling_set.repetition_penalty && d.repetition_penalty) {
    s.repetition_penalty = *d.repetition_penalty;
  }
}

void OpenAIService::handle_models(ResponseSink& sink, const std::string& one) {
  json model = {{"id", options_.served_model_name},
                {"object", "model"},
                {"created", created_},
                {"owned_by", "xyserve"},
                {"root", options_.model_root},
                {"parent", nullptr},
                {"max_model_len", max_model_len_}};
  if (!model_format_.empty()) model["format"] = model_format_;
  if (!one.empty()) {
    if (one != options_.served_model_name) {
      return reply_error(
          sink, not_found_error("The model `" + one + "` does not exist", "model_not_found"));
    }
    return reply(sink, json_response(model));
  }
  reply(sink, json_response({{"object", "list"}, {"data", json::array({model})}}));
}

void OpenAIService::handle_metrics(ResponseSink& sink) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  // Used blocks from the stats snapshot (never waits for a running step, unlike
  // Engine::num_used_kv_blocks()): free counts reclaimable cached blocks, so this is the same.
  const EngineStats stats = engine_->stats();
  r.body = metrics_.render(stats, stats.num_kv_blocks - stats.num_free_kv_blocks,
                           connections_ ? connections_() : 0, counters_.jobs_in_flight.load());
  if (disaggregation_)
    r.body += disaggregation_->render_metrics(
        "model_name=\"" + escape_label_value(options_.served_model_name) + "\"");
  reply(sink, std::move(r));
}

void OpenAIService::handle_stats(ResponseSink& sink) {
  const EngineStats stats = engine_->stats();
  StatsContext context;
  context.model = options_.served_model_name;
  context.max_model_len = max_model_len_;
  context.requests_in_flight = counters_.jobs_in_flight.load();
  context.finished = metrics_.finished_counts();
  HttpResponse r = json_response(stats_json(metrics_.live().snapshot(stats), stats, context));
  r.headers.emplace_back("Cache-Control", "no-store");
  reply(sink, std::move(r));
}

void OpenAIService::handle_tokenize(const HttpRequest& req, ResponseSink& sink) {
  auto parsed = parse_tokenize_request(req.body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return reply_error(sink, *e);
  auto& r = std::get<TokenizeRequest>(parsed);
  if (auto e = check_model(r.model)) return reply_error(sink, *e);
  Result<std::vector<int32_t>> ids = std::vector<int32_t>{};
  if (r.prompt) {
    ids = tokenizer_->encode(*r.prompt, r.add_special_tokens);
  } else {
    Result<std::string> text =
        render_chat(r.messages, nullptr, r.add_generation_prompt, false, nullptr);
    if (!text.is_ok()) return reply_error(sink, api_error_from_status(text.status(), "messages"));
    ids = tokenizer_->encode(*text, false);
  }
  if (!ids.is_ok()) return reply_error(sink, api_error_from_status(ids.status(), "prompt"));
  reply(sink, json_response(
                  {{"tokens", *ids}, {"count", ids->size()}, {"max_model_len", max_model_len_}}));
}

void OpenAIService::handle_detokenize(const HttpRequest& req, ResponseSink& sink) {
  auto parsed = parse_detokenize_request(req.body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return reply_error(sink, *e);
  auto& r = std::get<DetokenizeRequest>(parsed);
  if (auto e = check_model(r.model)) return reply_error(sink, *e);
  for (int32_t id : r.tokens) {
    if (id >= tokenizer_->vocab_size()) {
      return reply_error(
          sink, bad_request("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                std::to_string(tokenizer_->vocab_size()) + ")",
                            "tokens"));
    }
  }
  reply(sink, json_response({{"prompt", tokenizer_->decode(r.tokens, false)}}));
}

}  // namespace xy::server
