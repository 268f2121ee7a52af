// Turns a chat response's text, as it streams, into what OpenAI clients receive: content deltas
// and tool-call deltas (a header with id and name, then argument fragments), the same object
// serving non-streaming responses (feed everything, then finish).
//   kAuto      the model's own format (tool_calls.h): content streams, text that may still be
//              the start of a call is held back, each call is emitted when it is complete;
//   kRequired  tool_choice "required": the output is grammar-constrained to
//              [{"name": ..., "parameters": {...}}, ...]; headers go out as soon as a name is
//              complete and the parameters stream as they are generated;
//   kNamed     tool_choice naming a function: the whole output is its arguments object.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/tool_calls.h"

namespace xy::chat {

struct ToolCallDelta {
  int index = 0;
  bool header = false;    // first delta of this call: id and name set
  std::string id;         // "call_..." (header only)
  std::string name;       // (header only)
  std::string arguments;  // a fragment of the arguments JSON text (may be empty)
};

struct ToolCallStreamOutput {
  std::string content;
  std::vector<ToolCallDelta> calls;
  bool empty() const { return content.empty() && calls.empty(); }
};

class ToolCallStream {
 public:
  enum class Mode { kAuto, kRequired, kNamed };

  static ToolCallStream automatic(ToolCallFormat format);
  static ToolCallStream required();
  static ToolCallStream named(std::string function_name);

  ToolCallStreamOutput feed(std::string_view text);
  // End of the message: releases held-back text, parses a call still buffered.
  ToolCallStreamOutput finish();
  int num_calls() const { return num_calls_; }

 private:
  explicit ToolCallStream(Mode mode) : mode_(mode) {}
  void feed_auto(std::string_view text, ToolCallStreamOutput& out);
  void feed_required(std::string_view text, ToolCallStreamOutput& out);
  void emit_call(const ToolCall& call, ToolCallStreamOutput& out);
  ToolCallDelta header(std::string name);

  Mode mode_;
  ToolCallFormat format_ = ToolCallFormat::kHermes;
  std::string name_;  // kNamed
  int num_calls_ = 0;
  // kAuto
  std::string pending_;  // content not yet released (may start a call marker)
  std::string call_;     // text of the call being read
  bool in_call_ = false;
  bool decided_ = false;  // llama3_json: whether the message is a call is known
  // kRequired: a small JSON scanner over the constrained array.
  int depth_ = 0;
  bool in_string_ = false, escaped_ = false;
  std::string key_, string_value_;
  bool reading_key_ = false, reading_name_ = false, in_args_ = false, expect_value_ = false;
  std::string current_key_;
};

}  // namespace xy::chat
