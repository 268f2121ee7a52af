#include "chat/tool_call_stream.h"

#include <random>

namespace xy::chat {
namespace {

std::string random_call_id() {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return id;
}

// Length of the longest suffix of `s` that is a proper prefix of `marker`.
size_t partial_marker_suffix(std::string_view s, std::string_view marker) {
  for (size_t n = std::min(s.size(), marker.size() - 1); n > 0; --n) {
    if (s.substr(s.size() - n) == marker.substr(0, n)) return n;
  }
  return 0;
}

constexpr std::string_view kPythonTag = "<|python_tag|>";

}  // namespace

ToolCallStream ToolCallStream::automatic(ToolCallFormat format) {
  ToolCallStream s(Mode::kAuto);
  s.format_ = format;
  return s;
}
ToolCallStream ToolCallStream::required() {
  return ToolCallStream(Mode::kRequired);
}
ToolCallStream ToolCallStream::named(std::string function_name) {
  ToolCallStream s(Mode::kNamed);
  s.name_ = std::move(function_name);
  return s;
}

ToolCallDelta ToolCallStream::header(std::string name) {
  ToolCallDelta d;
  d.index = num_calls_++;
  d.header = true;
  d.id = random_call_id();
  d.name = std::move(name);
  return d;
}

void ToolCallStream::emit_call(const ToolCall& call, ToolCallStreamOutput& out) {
  ToolCallDelta d = header(call.name);
  d.arguments = call.arguments;
  out.calls.push_back(std::move(d));
}

ToolCallStreamOutput ToolCallStream::feed(std::string_view text) {
  ToolCallStreamOutput out;
  switch (mode_) {
    case Mode::kNamed:
      if (num_calls_ == 0) out.calls.push_back(header(name_));
      if (!text.empty()) {
        ToolCallDelta d;
        d.index = 0;
        d.arguments = std::string(text);
        out.calls.push_back(std::move(d));
      }
      break;
    case Mode::kRequired:
      feed_required(text, out);
      break;
    case Mode::kAuto:
      feed_auto(text, out);
      break;
  }
  return out;
}

void ToolCallStream::feed_auto(std::string_view text, ToolCallStreamOutput& out) {
  if (format_ == ToolCallFormat::kLlama3Json) {
    // A call is the whole message: decided by its first non-blank text.
    if (!decided_) {
      pending_ += text;
      size_t i = 0;
      while (i < pending_.size() &&
             (pending_[i] == ' ' || pending_[i] == '\n' || pending_[i] == '\t'))
        ++i;
      if (i == pending_.size()) return;
      const std::string_view rest = std::string_view(pending_).substr(i);
      const bool maybe_tag = kPythonTag.substr(0, std::min(rest.size(), kPythonTag.size())) ==
                             rest.substr(0, std::min(rest.size(), kPythonTag.size()));
      if (maybe_tag && rest.size() < kPythonTag.size()) return;  // not yet known
      decided_ = true;
      in_call_ = rest.front() == '{' || maybe_tag;
      if (in_call_) {
        call_ = std::move(pending_);
      } else {
        out.content += pending_;
      }
      pending_.clear();
      return;
    }
    if (in_call_) {
      call_ += text;
    } else {
      out.content += text;
    }
    return;
  }
  const std::string_view marker = tool_call_start_marker(format_);
  if (in_call_) {
    call_ += text;
  } else {
    pending_ += text;
  }
  for (;;) {
    if (!in_call_) {
      const size_t at = pending_.find(marker);
      if (at == std::string::npos) {
        const size_t keep = partial_marker_suffix(pending_, marker);
        out.content += pending_.substr(0, pending_.size() - keep);
        pending_.erase(0, pending_.size() - keep);
        return;
      }
      out.content += pending_.substr(0, at);
      call_ = pending_.substr(at);
      pending_.clear();
      in_call_ = true;
    }
    if (format_ != ToolCallFormat::kHermes) return;  // mistral: calls run to the end
    static constexpr std::string_view kClose = "</tool_call>";
    const size_t close = call_.find(kClose);
    if (close == std::string::npos) return;
    const std::string whole = call_.substr(0, close + kClose.size());
    ParsedToolCalls parsed = parse_tool_calls(format_, whole);
    for (const ToolCall& c : parsed.calls) emit_call(c, out);
    out.content += parsed.content;  // a block that did not parse stays text
    pending_ = call_.substr(close + kClose.size());
    call_.clear();
    in_call_ = false;
  }
}

void ToolCallStream::feed_required(std::string_view text, ToolCallStreamOutput& out) {
  // Layout: [ {"name": "...", "parameters": {...}} , ... ] (the grammar fixes it up to spaces).
  std::string args;
  // Arguments read so far belong to the latest call: flush them before a new call starts.
  const auto flush_args = [&] {
    if (args.empty() || num_calls_ == 0) return;
    ToolCallDelta d;
    d.index = num_calls_ - 1;
    d.arguments = std::move(args);
    args.clear();
    out.calls.push_back(std::move(d));
  };
  for (char c : text) {
    if (in_args_) args += c;
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
        if (reading_key_) {
          current_key_ = key_;
          reading_key_ = false;
        } else if (reading_name_) {
          flush_args();
          out.calls.push_back(header(string_value_));
          reading_name_ = false;
        }
        continue;
      }
      if (reading_key_) key_ += c;
      if (reading_name_) string_value_ += c;
      continue;
    }
    switch (c) {
      case '"':
        in_string_ = true;
        if (depth_ == 2 && !expect_value_) {
          reading_key_ = true;
          key_.clear();
        } else if (depth_ == 2 && expect_value_ && current_key_ == "name") {
          reading_name_ = true;
          string_value_.clear();
        }
        break;
      case ':':
        if (depth_ == 2) expect_value_ = true;
        break;
      case ',':
        if (depth_ == 2) expect_value_ = false;
        break;
      case '{':
      case '[':
        if (depth_ == 2 && expect_value_ && current_key_ == "parameters" && c == '{' && !in_args_) {
          in_args_ = true;
          args += c;
        }
        ++depth_;
        break;
      case '}':
      case ']':
        --depth_;
        if (depth_ == 2 && in_args_) {
          in_args_ = false;
          expect_value_ = false;
        }
        if (depth_ == 1) {
          expect_value_ = false;
          current_key_.clear();
        }
        break;
      default:
        break;
    }
  }
  flush_args();
}

ToolCallStreamOutput ToolCallStream::finish() {
  ToolCallStreamOutput out;
  if (mode_ == Mode::kNamed) {
    if (num_calls_ == 0) out.calls.push_back(header(name_));
    return out;
  }
  if (mode_ != Mode::kAuto) return out;
  if (in_call_) {
    ParsedToolCalls parsed = parse_tool_calls(format_, call_);
    out.content += parsed.content;
    for (const ToolCall& c : parsed.calls) emit_call(c, out);
    call_.clear();
    in_call_ = false;
  }
  out.content += pending_;
  pending_.clear();
  return out;
}

}  // namespace xy::chat
