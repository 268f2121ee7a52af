#include "server/openai_format.h"

#include "tokenizer/tokenizer.h"

namespace xy::server {

using json = nlohmann::json;

json usage_json(int prompt_tokens, int completion_tokens, int cached_tokens) {
  return json{{"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion_tokens},
              {"total_tokens", prompt_tokens + completion_tokens},
              {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
}

json finish_reason_json(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kAborted:
      return "abort";
    default:
      return nullptr;
  }
}

json stop_reason_json(const StreamDelta& d) {
  if (d.stop_string) return *d.stop_string;
  if (d.stop_token_id) return *d.stop_token_id;
  return nullptr;
}

std::string token_text(const Tokenizer& tok, int32_t id) {
  const int32_t one[1] = {id};
  return tok.decode(one, /*skip_special_tokens=*/false);
}

namespace {

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(int(c));
  return b;
}

// -inf logprobs (masked tokens) are not valid JSON numbers; OpenAI clients accept -9999.0.
double finite_logprob(float lp) {
  return std::isfinite(lp) ? double(lp) : -9999.0;
}

}  // namespace

json chat_logprobs_content(const Tokenizer& tok, const std::vector<TokenLogprobs>& lps) {
  json content = json::array();
  for (const TokenLogprobs& lp : lps) {
    const std::string t = token_text(tok, lp.token);
    json top = json::array();
    for (const TokenLogprob& alt : lp.top_logprobs) {
      const std::string at = token_text(tok, alt.token);
      top.push_back(
          {{"token", at}, {"logprob", finite_logprob(alt.logprob)}, {"bytes", bytes_of(at)}});
    }
    content.push_back({{"token", t},
                       {"logprob", finite_logprob(lp.logprob)},
                       {"bytes", bytes_of(t)},
                       {"top_logprobs", std::move(top)}});
  }
  return content;
}

json completion_logprobs(const Tokenizer& tok, const std::vector<TokenLogprobs>& lps,
                         size_t offset) {
  json tokens = json::array(), token_lps = json::array(), tops = json::array(),
       offsets = json::array();
  for (const TokenLogprobs& lp : lps) {
    const std::string t = token_text(tok, lp.token);
    tokens.push_back(t);
    token_lps.push_back(finite_logprob(lp.logprob));
    json top = json::object();
    // The sampled token is always listed (OpenAI's completions do the same).
    top[t] = finite_logprob(lp.logprob);
    for (const TokenLogprob& alt : lp.top_logprobs)
      top[token_text(tok, alt.token)] = finite_logprob(alt.logprob);
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    offset += t.size();
  }
  return json{{"tokens", std::move(tokens)},
              {"token_logprobs", std::move(token_lps)},
              {"top_logprobs", std::move(tops)},
              {"text_offset", std::move(offsets)}};
}

std::string dump_json(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json tool_call_deltas_json(const std::vector<chat::ToolCallDelta>& deltas) {
  json out = json::array();
  int last_index = -1;
  for (const chat::ToolCallDelta& d : deltas) {
    if (d.index == last_index && !d.header) {
      out.back()["function"]["arguments"] =
          out.back()["function"]["arguments"].get<std::string>() + d.arguments;
      continue;
    }
    json e = {{"index", d.index}};
    if (d.header) {
      e["id"] = d.id;
      e["type"] = "function";
      e["function"] = {{"name", d.name}, {"arguments", d.arguments}};
    } else {
      e["function"] = {{"arguments", d.arguments}};
    }
    out.push_back(std::move(e));
    last_index = d.index;
  }
  return out;
}

json tool_calls_json(const std::vector<chat::ToolCallDelta>& deltas) {
  json out = json::array();
  for (const chat::ToolCallDelta& d : deltas) {
    if (d.header) {
      out.push_back({{"id", d.id},
                     {"type", "function"},
                     {"function", {{"name", d.name}, {"arguments", d.arguments}}}});
    } else if (d.index >= 0 && static_cast<size_t>(d.index) < out.size()) {
      json& args = out[static_cast<size_t>(d.index)]["function"]["arguments"];
      args = args.get<std::string>() + d.arguments;
    }
  }
  return out;
}

}  // namespace xy::server
