#include "tokenizer/chat_template.h"

#include <chrono>
#include <new>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/parser.h"

namespace xy {
namespace {

Status to_status(const jinja::JinjaError& e) {
  const std::string msg = "chat template " + e.describe();
  switch (e.kind) {
    case jinja::JinjaError::Kind::kSyntax:
      return format_error(msg);
    case jinja::JinjaError::Kind::kLimit:
      return resource_exhausted(msg);
    case jinja::JinjaError::Kind::kRaised:
      return invalid_argument("chat template raised: " + e.message + " (at " + e.describe() + ")");
    case jinja::JinjaError::Kind::kRuntime:
      return invalid_argument(msg);
  }
  return internal_error(msg);
}

}  // namespace

Result<ChatTemplate> ChatTemplate::parse(std::string source) {
  try {
    auto program = std::make_shared<jinja::Program>(jinja::parse_program(source));
    return ChatTemplate(std::move(source), std::move(program));
  } catch (const jinja::JinjaError& e) {
    return to_status(e);
  } catch (const std::bad_alloc&) {
    return resource_exhausted("chat template: out of memory while parsing");
  }
}

Result<std::string> ChatTemplate::render(const nlohmann::json& messages,
                                         const ChatTemplateOptions& opts) const {
  return render(nlohmann::ordered_json(messages), opts);
}

Result<std::string> ChatTemplate::render(const nlohmann::ordered_json& messages,
                                         const ChatTemplateOptions& opts) const {
  if (!messages.is_array()) return invalid_argument("chat template: messages must be a JSON array");
  if (!opts.extra_context.is_null() && !opts.extra_context.is_object()) {
    return invalid_argument("chat template: extra_context must be a JSON object");
  }
  try {
    jinja::Dict context;
    context.set("messages", jinja::value_from_json(messages));
    context.set("add_generation_prompt", jinja::Value::boolean(opts.add_generation_prompt));
    context.set("bos_token", jinja::Value::string(opts.bos_token));
    context.set("eos_token", jinja::Value::string(opts.eos_token));
    if (!opts.tools.is_null()) context.set("tools", jinja::value_from_json(opts.tools));
    if (opts.date_string_override)
      context.set("date_string", jinja::Value::string(*opts.date_string_override));
    if (opts.extra_context.is_object()) {
      for (auto it = opts.extra_context.begin(); it != opts.extra_context.end(); ++it) {
        context.set(it.key(), jinja::value_from_json(it.value()));
      }
    }
    std::function<std::time_t()> clock = opts.clock;
    if (!clock) {
      clock = [] { return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()); };
    }
    jinja::Interpreter interpreter(jinja::RenderLimits{}, std::move(clock));
    auto globals = interpreter.make_globals(context);
    return interpreter.render(*program_, std::move(globals));
  } catch (const jinja::JinjaError& e) {
    return to_status(e);
  } catch (const std::bad_alloc&) {
    return resource_exhausted("chat template: out of memory while rendering");
  }
}

}  // namespace xy
