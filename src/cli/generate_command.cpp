// `xyserve generate`: stream a completion (or a chat reply) of one prompt to stdout. Runs through
// the serving engine (xy::Engine): the same scheduler, KV cache, sampler and stop checks as the
// server, one request at a time (interactive turns reuse the engine, so the prefix cache serves
// the conversation so far).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/default_model.h"
#include "cli/engine_flags.h"
#include "cli/model_session.h"
#include "engine/engine.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace xy::cli {

namespace {

struct GenerateArgs {
  ModelSessionOptions session;
  std::string prompt;
  std::string system;
  bool chat = false;
  bool interactive = false;
  int max_tokens = 128;
  bool ignore_eos = false;
  bool stats = true;
  // Unset flags fall back to generation_config.json, then to OpenAI defaults.
  std::optional<float> temperature, top_p, min_p, repetition_penalty;
  std::optional<int> top_k;
  float presence_penalty = 0.0f, frequency_penalty = 0.0f;
  std::optional<uint64_t> seed;
  int logprobs = 0;
  std::vector<std::string> stop;
  EngineFlags engine;
};

SamplingParams sampling_params(const GenerateArgs& a, const GenerationDefaults& d) {
  SamplingParams p;
  const bool do_sample = d.do_sample.value_or(true);
  p.temperature = a.temperature.value_or(do_sample ? d.temperature.value_or(1.0f) : 0.0f);
  p.top_p = a.top_p.value_or(d.top_p.value_or(1.0f));
  p.top_k = a.top_k.value_or(d.top_k.value_or(0));
  p.min_p = a.min_p.value_or(d.min_p.value_or(0.0f));
  p.repetition_penalty = a.repetition_penalty.value_or(d.repetition_penalty.value_or(1.0f));
  p.presence_penalty = a.presence_penalty;
  p.frequency_penalty = a.frequency_penalty;
  p.seed = a.seed;
  p.logprobs = a.logprobs;
  p.return_sampled_logprob = a.logprobs > 0;
  return p;
}

// Prompt text -> token ids: raw completion, or the model's chat template over `messages`.
Result<std::vector<int32_t>> encode_prompt(const Tokenizer& tok, const GenerateArgs& a,
                                           const nlohmann::json& messages) {
  if (!a.chat) return tok.encode(a.prompt, /*add_special_tokens=*/true);
  if (tok.chat_template().empty()) {
    return invalid_argument("--chat: the model's tokenizer_config.json has no chat_template");
  }
  XY_ASSIGN_OR_RETURN(ChatTemplate tmpl, ChatTemplate::parse(tok.chat_template()));
  ChatTemplateOptions opts;
  opts.add_generation_prompt = true;
  opts.bos_token = tok.bos_token();
  opts.eos_token = tok.eos_token();
  XY_ASSIGN_OR_RETURN(std::string text, tmpl.render(messages, opts));
  // The template already wrote any BOS it wants (as transformers' apply_chat_template does).
  return tok.encode(text, /*add_special_tokens=*/false);
}

// Generates one reply through the engine, streaming it to stdout; returns the text.
Result<std::string> generate_once(ModelSession& s, Engine& engine, const GenerateArgs& a,
                                  const std::vector<int32_t>& prompt) {
  EngineRequest req;
  req.prompt_tokens = prompt;
  req.sampling = sampling_params(a, s.generation_defaults());
  req.max_tokens = a.max_tokens;
  req.stop.ignore_eos = a.ignore_eos;
  req.stop.stop_strings = a.stop;
  const EngineStats before = engine.stats();
  XY_ASSIGN_OR_RETURN(RequestHandle h, engine.add_request(std::move(req)));
  std::string text;
  StreamDelta total;
  while (std::optional<StreamDelta> d = h.stream->next()) {
    if (a.logprobs > 0) {
      for (const TokenLogprobs& lp : d->logprobs) {
        std::fprintf(stderr, "[token %d logprob %.4f:", lp.token, lp.logprob);
        for (const TokenLogprob& t : lp.top_logprobs) {
          std::fprintf(stderr, " %d=%.4f", t.token, t.logprob);
        }
        std::fprintf(stderr, "]\n");
      }
    }
    std::fwrite(d->text.data(), 1, d->text.size(), stdout);
    std::fflush(stdout);
    text += d->text;
    const bool fin = d->finished;
    total.merge(std::move(*d));
    if (fin) break;
  }
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!total.error.is_ok()) return total.error;
  if (a.stats) {
    const RequestTimings& t = total.timings;
    const int n = total.usage.completion_tokens;
    const double prefill_ms = (t.first_token_s - t.arrival_s) * 1e3;
    const double decode_ms = (t.finished_s - t.first_token_s) * 1e3;
    std::fprintf(stderr,
                 "[prompt %d tokens (%d cached) in %.1f ms (%.1f tok/s); generated %d tokens in "
                 "%.1f ms (%.2f tok/s); finish: %s]\n",
                 total.usage.prompt_tokens, total.usage.cached_tokens, prefill_ms,
                 total.usage.prompt_tokens * 1000.0 / std::max(prefill_ms, 1e-3), n, decode_ms,
                 n > 1 ? (n - 1) * 1000.0 / std::max(decode_ms, 1e-3) : 0.0,
                 finish_reason_name(total.finish_reason));
    const EngineStats after = engine.stats();
    const int64_t drafted = after.num_draft_tokens - before.num_draft_tokens;
    const int64_t accepted = after.num_accepted_tokens - before.num_accepted_tokens;
    const int64_t steps = after.num_steps - before.num_steps;
    if (drafted > 0) {
      std::fprintf(stderr,
                   "[speculation: %lld draft tokens, %lld accepted (%.1f%%); %.2f tokens per "
                   "step]\n",
                   static_cast<long long>(drafted), static_cast<long long>(accepted),
                   100.0 * static_cast<double>(accepted) / static_cast<double>(drafted),
                   static_cast<double>(n) / static_cast<double>(std::max<int64_t>(steps, 1)));
    }
  }
  return text;
}

int run_generate(const GenerateArgs& a) {
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "xyserve generate: %s\n", st.message().c_str());
    return 1;
  };
  if (!a.interactive && a.prompt.empty()) {
    return fail(invalid_argument("--prompt is required (or use --interactive)"));
  }
  auto session = ModelSession::open(a.session);
  if (!session.is_ok()) return fail(session.status());
  ModelSession& s = **session;
  EngineFlags flags = a.engine;
  auto engine = make_engine_from_flags(flags, s, a.session);
  if (!engine.is_ok()) return fail(engine.status());
  nlohmann::json messages = nlohmann::json::array();
  if (!a.system.empty()) messages.push_back({{"role", "system"}, {"content", a.system}});
  if (!a.interactive) {
    messages.push_back({{"role", "user"}, {"content", a.prompt}});
    auto prompt = encode_prompt(s.tokenizer(), a, messages);
    if (!prompt.is_ok()) return fail(prompt.status());
    auto text = generate_once(s, **engine, a, *prompt);
    return text.is_ok() ? 0 : fail(text.status());
  }
  std::fprintf(stderr, "xyserve: interactive %s on %s. Empty line or Ctrl-D to quit.\n",
               a.chat ? "chat" : "completion", a.session.model_dir.c_str());
  std::string line;
  while (true) {
    std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line) || line.empty()) break;
    GenerateArgs turn = a;
    turn.prompt = line;
    messages.push_back({{"role", "user"}, {"content", line}});
    auto prompt = encode_prompt(s.tokenizer(), turn, messages);
    if (!prompt.is_ok()) {
      fail(prompt.status());
      messages.erase(messages.end() - 1);
      continue;
    }
    auto text = generate_once(s, **engine, turn, *prompt);
    if (!text.is_ok()) {
      fail(text.status());
      messages.erase(messages.end() - 1);
      continue;
    }
    messages.push_back({{"role", "assistant"}, {"content", *text}});
  }
  return 0;
}

}  // namespace

CommandRunner add_generate_command(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a prompt (streams to stdout)");
  cmd->add_option("--model", a->session.model_dir,
                  "Hugging Face checkpoint directory (default: the shipped models/xy-target)");
  cmd->add_option("--prompt,-p", a->prompt, "Prompt text (a user message with --chat)");
  cmd->add_flag("--chat", a->chat, "Apply the model's chat template to the prompt");
  cmd->add_option("--system", a->system, "System message (with --chat)");
  cmd->add_flag("--interactive,-i", a->interactive, "Read prompts from stdin, one per line");
  cmd->add_option("--max-tokens,-n", a->max_tokens, "Maximum new tokens")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--ignore-eos", a->ignore_eos, "Keep generating after end-of-sequence tokens");
  cmd->add_option("--temperature", a->temperature, "0 = greedy (default: generation_config.json)");
  cmd->add_option("--top-p", a->top_p, "Nucleus sampling mass in (0, 1]");
  cmd->add_option("--top-k", a->top_k, "Keep the k most likely tokens (0 = off)");
  cmd->add_option("--min-p", a->min_p, "Drop tokens below min_p times the top probability");
  cmd->add_option("--repetition-penalty", a->repetition_penalty, "> 1 discourages repeats");
  cmd->add_option("--presence-penalty", a->presence_penalty, "OpenAI presence penalty [-2, 2]");
  cmd->add_option("--frequency-penalty", a->frequency_penalty, "OpenAI frequency penalty [-2, 2]");
  cmd->add_option("--seed", a->seed, "Sampling seed (same seed, same output)");
  cmd->add_option("--logprobs", a->logprobs, "Print the top-N logprobs of each token to stderr");
  add_model_flags(*cmd, a->session);
  cmd->add_flag("!--no-stats", a->stats, "Do not print timing statistics to stderr");
  cmd->add_option("--stop", a->stop, "Stop string (repeatable); not included in the output");
  // One request at a time: a small pool and a fixed budget (no calibration) by default.
  a->engine.engine.max_num_seqs = 1;
  a->engine.engine.max_num_batched_tokens = 1024;
  add_engine_flags(*cmd, a->engine);
  return [a]() {
    if (a->session.model_dir.empty()) a->session.model_dir = default_target_model_dir();
    if (a->session.model_dir.empty()) {
      std::fprintf(
          stderr,
          "xyserve generate: --model DIR is required (no shipped model in models/xy-target)\n");
      return 2;
    }
    return run_generate(*a);
  };
}

}  // namespace xy::cli
