// Chat templates: renders a model's Jinja `chat_template` (from tokenizer_config.json) over
// an OpenAI-style messages array, byte-identical to @huggingface/jinja / transformers'
// apply_chat_template for the templates of Llama 3.x, Qwen 2.5/3, Mistral, Gemma 3 and
// SmolLM2 (golden tests in testdata/chat_template/).
//
// Parse once, render many: parse() validates the whole template (unknown tags, filters and
// tests fail here with line:column); render() is const and safe to call from many threads.
// Rendering an untrusted template is bounded in output size, work and nesting (errors, not
// crashes). A template's raise_exception("msg") comes back as kInvalidArgument with "msg"
// in the message.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace xy {

namespace jinja {
struct Program;
}

struct ChatTemplateOptions {
  bool add_generation_prompt = true;
  std::string bos_token, eos_token;
  // ordered_json keeps the client's key order, which `tojson` prints (as transformers does);
  // a plain nlohmann::json converts implicitly but arrives with sorted keys.
  nlohmann::ordered_json tools;  // null if none; otherwise exposed as `tools`
  nlohmann::ordered_json
      extra_context;  // object merged into the context, e.g. {"enable_thinking": false}
  // Sets `date_string` (Llama 3.1: "26 Jul 2024").
  std::optional<std::string> date_string_override;
  // Clock for strftime_now(), seconds since the Unix epoch (UTC); null means the system clock.
  std::function<std::time_t()> clock;
};

class ChatTemplate {
 public:
  // kFormatError "chat template L:C: ..." when the source does not parse.
  static Result<ChatTemplate> parse(std::string source);

  // messages: a JSON array of message objects (any keys). Errors: kInvalidArgument for a
  // raise_exception or a runtime type error (message names line:column), kResourceExhausted
  // for a safety limit.
  // Pass ordered_json for byte parity with transformers (key order of tool schemas and
  // arguments); the nlohmann::json overload renders with sorted keys.
  Result<std::string> render(const nlohmann::ordered_json& messages,
                             const ChatTemplateOptions& opts) const;
  Result<std::string> render(const nlohmann::json& messages, const ChatTemplateOptions& opts) const;

  const std::string& source() const { return source_; }

 private:
  ChatTemplate(std::string source, std::shared_ptr<const jinja::Program> program)
      : source_(std::move(source)), program_(std::move(program)) {}

  std::string source_;
  std::shared_ptr<const jinja::Program> program_;  // immutable, shared by copies
};

}  // namespace xy
