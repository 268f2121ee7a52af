#include "server/structured_output.h"

namespace xy::server {
namespace {

using Json = nlohmann::ordered_json;

Json parameters_of(const Json& tool) {
  const Json& fn = tool["function"];
  if (fn.contains("parameters") && fn["parameters"].is_object()) return fn["parameters"];
  return Json{{"type", "object"}, {"additionalProperties", true}};  // anything goes
}

}  // namespace

std::variant<OutputPlan, ApiError> plan_output(const GenerationOptions& gen,
                                               const ChatCompletionRequest* chat,
                                               std::optional<chat::ToolCallFormat> tool_format) {
  OutputPlan plan;
  const OutputConstraint& c = gen.constraint;
  plan.param = c.param;
  switch (c.kind) {
    case OutputConstraint::Kind::kNone:
      break;
    case OutputConstraint::Kind::kJsonObject:
      plan.grammar = grammar::GrammarSpec::json_object();
      break;
    case OutputConstraint::Kind::kJsonSchema:
      plan.grammar = grammar::GrammarSpec::json_schema(c.text);
      break;
    case OutputConstraint::Kind::kRegex:
      plan.grammar = grammar::GrammarSpec::regex(c.text);
      break;
    case OutputConstraint::Kind::kChoice:
      plan.grammar = grammar::GrammarSpec::choice(c.choices);
      break;
    case OutputConstraint::Kind::kGrammar:
      plan.grammar = grammar::GrammarSpec::ebnf(c.text);
      break;
  }
  if (chat == nullptr || chat->tools.is_null() || chat->tools.empty()) return plan;
  const ToolChoice& choice = chat->tool_choice;
  switch (choice.mode) {
    case ToolChoice::Mode::kNone:
      break;
    case ToolChoice::Mode::kAuto:
      // Without a known format the output stays plain content (vLLM refuses such requests
      // unless a parser is configured; answering them as text loses nothing). A grammar given
      // alongside shapes the text the parser then reads.
      if (tool_format) {
        plan.tools.mode = ToolOutput::Mode::kAuto;
        plan.tools.format = *tool_format;
      }
      break;
    case ToolChoice::Mode::kNamed:
      for (const Json& t : chat->tools) {
        if (t["function"]["name"] == choice.name) {
          plan.grammar = grammar::GrammarSpec::json_schema(parameters_of(t).dump());
          break;
        }
      }
      plan.param = "tools";
      plan.tools.mode = ToolOutput::Mode::kNamed;
      plan.tools.name = choice.name;
      break;
    case ToolChoice::Mode::kRequired: {
      Json alternatives = Json::array();
      for (const Json& t : chat->tools) {
        alternatives.push_back(
            Json{{"type", "object"},
                 {"properties",
                  {{"name", {{"const", t["function"]["name"]}}}, {"parameters", parameters_of(t)}}},
                 {"required", {"name", "parameters"}},
                 {"additionalProperties", false}});
      }
      Json schema = {{"type", "array"}, {"minItems", 1}, {"items", {{"anyOf", alternatives}}}};
      if (!chat->parallel_tool_calls) schema["maxItems"] = 1;
      plan.grammar = grammar::GrammarSpec::json_schema(schema.dump());
      plan.param = "tools";
      plan.tools.mode = ToolOutput::Mode::kRequired;
      break;
    }
  }
  return plan;
}

}  // namespace xy::server
