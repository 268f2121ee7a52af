#include "chat/tool_calls.h"

#include <nlohmann/json.hpp>

namespace xy::chat {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kMistralMarker = "[TOOL_CALLS]";
constexpr std::string_view kMistralArgs = "[ARGS]";
constexpr std::string_view kPythonTag = "<|python_tag|>";

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<Json> parse_json(std::string_view s) {
  try {
    return Json::parse(s);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// {"name": ..., "<args_key>": {...}} (either arguments key accepted) -> a call.
std::optional<ToolCall> call_from_object(const Json& o) {
  if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) return std::nullopt;
  ToolCall c;
  c.name = o["name"].get<std::string>();
  const Json* args = nullptr;
  if (o.contains("arguments"))
    args = &o["arguments"];
  else if (o.contains("parameters"))
    args = &o["parameters"];
  if (args == nullptr) {
    c.arguments = "{}";
  } else if (args->is_string()) {
    c.arguments = args->get<std::string>();  // already JSON text
  } else {
    c.arguments = args->dump();
  }
  return c;
}

ParsedToolCalls parse_hermes(std::string_view text) {
  ParsedToolCalls out;
  size_t pos = 0;
  std::string content;
  while (pos < text.size()) {
    const size_t open = text.find(kHermesOpen, pos);
    if (open == std::string_view::npos) {
      content += text.substr(pos);
      break;
    }
    content += text.substr(pos, open - pos);
    const size_t body = open + kHermesOpen.size();
    size_t close = text.find(kHermesClose, body);
    const size_t end = close == std::string_view::npos ? text.size() : close + kHermesClose.size();
    if (close == std::string_view::npos) close = text.size();  // cut off by max_tokens: try anyway
    std::optional<Json> j = parse_json(trim(text.substr(body, close - body)));
    std::optional<ToolCall> call = j ? call_from_object(*j) : std::nullopt;
    if (call) {
      out.calls.push_back(std::move(*call));
    } else {
      content += text.substr(open, end - open);
    }
    pos = end;
  }
  out.content = out.calls.empty() ? content : std::string(trim(content));
  return out;
}

ParsedToolCalls parse_llama3(std::string_view text) {
  ParsedToolCalls out;
  std::string_view body = trim(text);
  if (body.substr(0, kPythonTag.size()) == kPythonTag) body = trim(body.substr(kPythonTag.size()));
  if (body.empty() || body.front() != '{') {
    out.content = std::string(text);
    return out;
  }
  // One object, or several separated by ';'.
  std::vector<ToolCall> calls;
  size_t start = 0;
  bool ok = true;
  while (start < body.size()) {
    size_t end = body.find(';', start);
    // A ';' inside a string would split wrongly: grow the piece until it parses.
    std::optional<Json> j;
    for (;;) {
      const std::string_view piece = trim(
          body.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
      j = parse_json(piece);
      if (j || end == std::string_view::npos) break;
      end = body.find(';', end + 1);
    }
    std::optional<ToolCall> call = j ? call_from_object(*j) : std::nullopt;
    if (!call) {
      ok = false;
      break;
    }
    calls.push_back(std::move(*call));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (ok && !calls.empty()) {
    out.calls = std::move(calls);
  } else {
    out.content = std::string(text);
  }
  return out;
}

ParsedToolCalls parse_mistral(std::string_view text) {
  ParsedToolCalls out;
  const size_t at = text.find(kMistralMarker);
  if (at == std::string_view::npos) {
    out.content = std::string(text);
    return out;
  }
  std::string_view rest = trim(text.substr(at + kMistralMarker.size()));
  std::vector<ToolCall> calls;
  if (!rest.empty() && rest.front() == '[') {
    std::optional<Json> j = parse_json(rest);
    if (j && j->is_array()) {
      for (const Json& o : *j) {
        std::optional<ToolCall> c = call_from_object(o);
        if (!c) {
          calls.clear();
          break;
        }
        calls.push_back(std::move(*c));
      }
    }
  } else {
    // v11: name[ARGS]{...}, possibly repeated after further [TOOL_CALLS] markers.
    std::string_view s = rest;
    while (!s.empty()) {
      const size_t args = s.find(kMistralArgs);
      if (args == std::string_view::npos) {
        calls.clear();
        break;
      }
      ToolCall c;
      c.name = std::string(trim(s.substr(0, args)));
      std::string_view after = s.substr(args + kMistralArgs.size());
      const size_t next = after.find(kMistralMarker);
      const std::string_view json_text = trim(after.substr(0, next));
      std::optional<Json> j = parse_json(json_text);
      if (!j || c.name.empty()) {
        calls.clear();
        break;
      }
      c.arguments = j->dump();
      calls.push_back(std::move(c));
      if (next == std::string_view::npos) break;
      s = trim(after.substr(next + kMistralMarker.size()));
    }
  }
  if (calls.empty()) {
    out.content = std::string(text);
  } else {
    out.content = std::string(trim(text.substr(0, at)));
    out.calls = std::move(calls);
  }
  return out;
}

}  // namespace

std::optional<ToolCallFormat> tool_call_format_from_name(std::string_view name) {
  if (name == "hermes") return ToolCallFormat::kHermes;
  if (name == "llama3_json") return ToolCallFormat::kLlama3Json;
  if (name == "mistral") return ToolCallFormat::kMistral;
  return std::nullopt;
}

const char* tool_call_format_name(ToolCallFormat f) {
  switch (f) {
    case ToolCallFormat::kHermes:
      return "hermes";
    case ToolCallFormat::kLlama3Json:
      return "llama3_json";
    case ToolCallFormat::kMistral:
      return "mistral";
  }
  return "?";
}

std::optional<ToolCallFormat> detect_tool_call_format(std::string_view t) {
  if (t.find("<tool_call>") != std::string_view::npos) return ToolCallFormat::kHermes;
  if (t.find("[TOOL_CALLS]") != std::string_view::npos) return ToolCallFormat::kMistral;
  // Llama 3.1+ templates describe the JSON call format and use <|python_tag|> / ipython.
  if (t.find("<|python_tag|>") != std::string_view::npos ||
      (t.find("tool_call") != std::string_view::npos &&
       t.find("\"parameters\"") != std::string_view::npos) ||
      t.find("ipython") != std::string_view::npos) {
    return ToolCallFormat::kLlama3Json;
  }
  return std::nullopt;
}

ParsedToolCalls parse_tool_calls(ToolCallFormat format, std::string_view text) {
  switch (format) {
    case ToolCallFormat::kHermes:
      return parse_hermes(text);
    case ToolCallFormat::kLlama3Json:
      return parse_llama3(text);
    case ToolCallFormat::kMistral:
      return parse_mistral(text);
  }
  return {std::string(text), {}};
}

std::string_view tool_call_start_marker(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::kHermes:
      return kHermesOpen;
    case ToolCallFormat::kMistral:
      return kMistralMarker;
    case ToolCallFormat::kLlama3Json:
      return "";
  }
  return "";
}

}  // namespace xy::chat
