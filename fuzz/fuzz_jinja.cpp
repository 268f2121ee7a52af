// libFuzzer driver for the chat-template interpreter: arbitrary bytes are parsed as a
// template; one that parses is rendered over a small fixed conversation (with tools and a
// tool call). Either step must succeed or return a Status — never crash, hang, leak or
// allocate without bound. Seeds: the real templates in fuzz/corpus/jinja/.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"

namespace {

const nlohmann::ordered_json& messages() {
  static const nlohmann::ordered_json m = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi \u00e9 \ud83d\ude00"},
    {"role": "assistant", "content": "<think>x</think>Hello", "tool_calls": [
      {"type": "function", "function": {"name": "f", "arguments": {"a": 1, "b": [true, null, 2.5]}}}]},
    {"role": "tool", "content": "42"},
    {"role": "user", "content": [{"type": "text", "text": " parts "}, {"type": "image"}]}
  ])");
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // real templates are < 16 KiB; keep iterations fast
  auto tpl = xy::ChatTemplate::parse(std::string(reinterpret_cast<const char*>(data), size));
  if (!tpl.is_ok()) return 0;
  xy::ChatTemplateOptions opts;
  opts.bos_token = "<s>";
  opts.eos_token = "</s>";
  opts.tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])");
  opts.extra_context = {{"enable_thinking", false}};
  opts.clock = [] { return std::time_t{1741964966}; };
  auto out = tpl->render(messages(), opts);
  if (out.is_ok() && out->size() > (16u << 20)) __builtin_trap();  // the output bound
  return 0;
}
