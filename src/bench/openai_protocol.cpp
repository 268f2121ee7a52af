#include "bench/openai_protocol.h"

#include <nlohmann/json.hpp>

namespace xy::bench {

Result<Url> parse_url(std::string_view url) {
  std::string_view rest = url;
  if (rest.starts_with("https://"))
    return unsupported("https URLs are not supported (use http://): " + std::string(url));
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  if (rest.empty()) return invalid_argument("URL has no host: '" + std::string(url) + "'");
  Url u;
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.base_path = std::string(rest.substr(slash));
  while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
  } else {
    u.host = std::string(authority);
    u.port = "80";
  }
  if (u.host.empty()) return invalid_argument("URL has no host: '" + std::string(url) + "'");
  if (u.port.empty() || u.port.find_first_not_of("0123456789") != std::string::npos ||
      u.port.size() > 5 || std::stoi(u.port) > 65535 || std::stoi(u.port) == 0)
    return invalid_argument("URL has a bad port: '" + std::string(url) + "'");
  return u;
}

std::string endpoint_path(const Url& url, Endpoint endpoint) {
  std::string base = url.base_path;
  if (!base.ends_with("/v1")) base += "/v1";
  return base + (endpoint == Endpoint::kChat ? "/chat/completions" : "/completions");
}

std::string make_request_body(Endpoint endpoint, std::string_view prompt,
                              const GenerationParams& params) {
  nlohmann::json j;
  j["model"] = params.model;
  if (endpoint == Endpoint::kChat) {
    j["messages"] = nlohmann::json::array({{{"role", "user"}, {"content", std::string(prompt)}}});
  } else {
    j["prompt"] = std::string(prompt);
  }
  j["max_tokens"] = params.max_tokens;
  j["temperature"] = params.temperature;
  j["stream"] = true;
  j["stream_options"] = {{"include_usage", true}};
  if (params.ignore_eos) j["ignore_eos"] = true;
  if (params.stream_logprobs) {
    if (endpoint == Endpoint::kChat) {
      j["logprobs"] = true;
      j["top_logprobs"] = 0;
    } else {
      j["logprobs"] = 0;
    }
  }
  return j.dump();
}

Result<ChunkInfo> parse_chunk(std::string_view data) {
  ChunkInfo info;
  std::string_view trimmed = data;
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\n'))
    trimmed.remove_suffix(1);
  if (trimmed == "[DONE]") {
    info.done = true;
    return info;
  }
  nlohmann::json j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return format_error("SSE data is not a JSON object: '" + std::string(data.substr(0, 120)) +
                        "'");
  if (auto e = j.find("error"); e != j.end()) {
    if (e->is_object() && e->contains("message") && (*e)["message"].is_string())
      info.error = (*e)["message"].get<std::string>();
    else
      info.error = e->dump();
    if (info.error.empty()) info.error = "error event";
    return info;
  }
  if (auto c = j.find("choices"); c != j.end() && c->is_array() && !c->empty()) {
    const auto& ch = (*c)[0];
    auto take = [&](const nlohmann::json& obj, const char* key) {
      auto it = obj.find(key);
      if (it != obj.end() && it->is_string()) info.text += it->get<std::string>();
    };
    if (ch.is_object()) {
      take(ch, "text");
      if (auto d = ch.find("delta"); d != ch.end() && d->is_object()) {
        take(*d, "reasoning_content");
        take(*d, "content");
      }
      // Completions: logprobs.tokens[]; chat: logprobs.content[].
      if (auto lp = ch.find("logprobs"); lp != ch.end() && lp->is_object()) {
        for (const char* key : {"tokens", "content"}) {
          auto it = lp->find(key);
          if (it != lp->end() && it->is_array())
            info.logprob_tokens += static_cast<int>(it->size());
        }
      }
    }
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
    if (auto p = u->find("prompt_tokens"); p != u->end() && p->is_number_integer())
      info.prompt_tokens = p->get<int>();
    if (auto p = u->find("completion_tokens"); p != u->end() && p->is_number_integer())
      info.completion_tokens = p->get<int>();
  }
  return info;
}

std::string error_message_from_body(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    auto e = j.find("error");
    if (e != j.end()) {
      if (e->is_object() && e->contains("message") && (*e)["message"].is_string())
        return (*e)["message"].get<std::string>();
      if (e->is_string()) return e->get<std::string>();
    }
  }
  return std::string(body.substr(0, 200));
}

}  // namespace xy::bench
