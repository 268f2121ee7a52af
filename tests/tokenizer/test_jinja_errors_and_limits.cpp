// Errors name what went wrong and where (line:column); hostile templates end in an error
// value, never a crash, hang or unbounded allocation; rendering is thread-safe.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/parser.h"

namespace {

using nlohmann::ordered_json;

xy::Status parse_error(const std::string& source) {
  auto t = xy::ChatTemplate::parse(source);
  return t.is_ok() ? xy::Status::ok() : t.status();
}

xy::Result<std::string> render(const std::string& source,
                               ordered_json extra = ordered_json::object(),
                               ordered_json messages = ordered_json::array()) {
  auto t = xy::ChatTemplate::parse(source);
  if (!t.is_ok()) return t.status();
  xy::ChatTemplateOptions opts;
  opts.extra_context = std::move(extra);
  opts.clock = [] { return std::time_t{0}; };
  return t->render(messages, opts);
}

void expect_error(const xy::Status& s, xy::ErrorCode code, const std::string& needle) {
  ASSERT_FALSE(s.is_ok()) << "expected an error containing: " << needle;
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.to_string();
}

// ---- parse-time errors carry line:column ----

TEST(JinjaParseErrors, UnknownTagNamedWithPosition) {
  expect_error(parse_error("hello\n  {% raw %}x{% endraw %}"), xy::ErrorCode::kFormatError,
               "2:6: unknown tag 'raw'");
}

TEST(JinjaParseErrors, UnknownFilterAndTestAreRejectedBeforeRendering) {
  // Inside a branch no conversation reaches: still rejected at parse time.
  expect_error(parse_error("{% if false %}\n{{ x | frobnicate }}{% endif %}"),
               xy::ErrorCode::kFormatError, "2:8: unknown filter 'frobnicate'");
  expect_error(parse_error("{{ x is prime }}"), xy::ErrorCode::kFormatError,
               "1:9: unknown test 'prime'");
}

TEST(JinjaParseErrors, UnclosedBlocksNameTheOpeningTag) {
  expect_error(parse_error("a\n{% for m in messages %}{{ m }}"), xy::ErrorCode::kFormatError,
               "2:1: unclosed 'for' block");
  expect_error(parse_error("{% if x %}a{% else %}b"), xy::ErrorCode::kFormatError,
               "unclosed 'if' block");
  expect_error(parse_error("{% macro m() %}"), xy::ErrorCode::kFormatError,
               "unclosed 'macro' block");
}

TEST(JinjaParseErrors, LexicalErrors) {
  expect_error(parse_error("{{ 'unterminated }}"), xy::ErrorCode::kFormatError,
               "1:4: unterminated string literal");
  expect_error(parse_error("x {# never closed"), xy::ErrorCode::kFormatError,
               "missing end of comment");
  expect_error(parse_error("{{ a $ b }}"), xy::ErrorCode::kFormatError,
               "1:6: unexpected character '$'");
  expect_error(parse_error("{{ '\\q' }}"), xy::ErrorCode::kFormatError,
               "unexpected escaped character 'q'");
  expect_error(parse_error("{{ x "), xy::ErrorCode::kFormatError, "");
}

TEST(JinjaParseErrors, PositionsSurviveWhitespaceControlAndTrimBlocks) {
  // lstrip_blocks removes the indentation and trim_blocks the newline before the error;
  // the reported column is still the one in the original source.
  expect_error(parse_error("{% if true %}\n    {%- frob %}\n{% endif %}"),
               xy::ErrorCode::kFormatError, "2:9: unknown tag 'frob'");
}

TEST(JinjaParseErrors, StatementsMisplaced) {
  expect_error(parse_error("{% endfor %}"), xy::ErrorCode::kFormatError, "unknown tag 'endfor'");
  expect_error(parse_error("{% set 1 = 2 %}"), xy::ErrorCode::kFormatError,
               "invalid assignment target");
  expect_error(parse_error("{% for 1 in x %}{% endfor %}"), xy::ErrorCode::kFormatError,
               "loop variable");
  expect_error(parse_error("{% macro m(a=1, b) %}{% endmacro %}"), xy::ErrorCode::kFormatError,
               "non-default parameter follows a default one");
}

// ---- runtime errors ----

TEST(JinjaRuntimeErrors, RaiseExceptionCarriesTheTemplateMessage) {
  auto out = render("line one\n{{ raise_exception('Roles must alternate: ' ~ n) }}", {{"n", 3}});
  expect_error(out.status(), xy::ErrorCode::kInvalidArgument,
               "chat template raised: Roles must alternate: 3");
  EXPECT_NE(out.status().message().find("2:4"), std::string::npos) << out.status().message();
}

TEST(JinjaRuntimeErrors, UnknownMethodNamesMethodTypeAndPosition) {
  expect_error(render("\n  {{ 'abc'.frobnicate() }}").status(), xy::ErrorCode::kInvalidArgument,
               "unknown method 'frobnicate' on a string");
  expect_error(render("{{ d.nope() }}", {{"d", {{"a", 1}}}}).status(),
               xy::ErrorCode::kInvalidArgument, "1:6: unknown method 'nope' on a dict");
}

TEST(JinjaRuntimeErrors, TypeErrorsAreValuesNotCrashes) {
  expect_error(render("{% for x in 5 %}{% endfor %}").status(), xy::ErrorCode::kInvalidArgument,
               "cannot iterate over a int");
  expect_error(render("{{ 1 + none }}").status(), xy::ErrorCode::kInvalidArgument, "to none");
  expect_error(render("{{ x | trim }}", {{"x", 5}}).status(), xy::ErrorCode::kInvalidArgument,
               "cannot apply filter 'trim' to a int");
  expect_error(render("{{ 1 // 0 }}").status(), xy::ErrorCode::kInvalidArgument,
               "division by zero");
  expect_error(render("{{ 1 % 0 }}").status(), xy::ErrorCode::kInvalidArgument, "modulo by zero");
  expect_error(render("{{ [1][::0] }}").status(), xy::ErrorCode::kInvalidArgument,
               "slice step cannot be zero");
  expect_error(render("{% set x = 1 %}{% set x.a = 2 %}").status(), xy::ErrorCode::kInvalidArgument,
               "only of a namespace");
  expect_error(render("{% break %}").status(), xy::ErrorCode::kInvalidArgument, "outside a loop");
  expect_error(render("{{ range(1, 2, 0) }}").status(), xy::ErrorCode::kInvalidArgument,
               "step must not be zero");
}

TEST(JinjaRuntimeErrors, BadInputShapes) {
  auto t = xy::ChatTemplate::parse("{{ messages }}");
  ASSERT_TRUE(t.is_ok());
  xy::ChatTemplateOptions opts;
  expect_error(t->render(ordered_json::object(), opts).status(), xy::ErrorCode::kInvalidArgument,
               "messages must be a JSON array");
  opts.extra_context = ordered_json::array();
  expect_error(t->render(ordered_json::array(), opts).status(), xy::ErrorCode::kInvalidArgument,
               "extra_context must be a JSON object");
}

// ---- safety limits ----

xy::Status render_with_limits(const std::string& source, xy::jinja::RenderLimits limits) {
  try {
    const xy::jinja::Program program = xy::jinja::parse_program(source);
    xy::jinja::Interpreter in(limits, [] { return std::time_t{0}; });
    in.render(program, in.make_globals(xy::jinja::Dict{}));
    return xy::Status::ok();
  } catch (const xy::jinja::JinjaError& e) {
    return e.kind == xy::jinja::JinjaError::Kind::kLimit ? xy::resource_exhausted(e.describe())
                                                         : xy::invalid_argument(e.describe());
  }
}

TEST(JinjaLimits, OutputSizeIsBounded) {
  xy::jinja::RenderLimits limits;
  limits.max_output_bytes = 1000;
  expect_error(render_with_limits("{% for i in range(200) %}0123456789{% endfor %}", limits),
               xy::ErrorCode::kResourceExhausted, "output exceeds 1000 bytes");
  EXPECT_TRUE(render_with_limits("{% for i in range(99) %}0123456789{% endfor %}", limits).is_ok());
  // The default limit (16 MiB) through the public API.
  const std::string block(64 * 1024, 'x');
  expect_error(
      render("{% for i in range(300) %}{{ block }}{% endfor %}", {{"block", block}}).status(),
      xy::ErrorCode::kResourceExhausted, "output exceeds 16777216 bytes");
  EXPECT_TRUE(
      render("{% for i in range(200) %}{{ block }}{% endfor %}", {{"block", block}}).is_ok());
}

TEST(JinjaLimits, LoopWorkIsBounded) {
  xy::jinja::RenderLimits limits;
  limits.max_work_units = 10'000;
  expect_error(
      render_with_limits(
          "{% for i in range(200) %}{% for j in range(200) %}{% endfor %}{% endfor %}", limits),
      xy::ErrorCode::kResourceExhausted, "work units");
  EXPECT_TRUE(
      render_with_limits("{% for i in range(50) %}{% for j in range(50) %}{% endfor %}{% endfor %}",
                         limits)
          .is_ok());
  expect_error(render_with_limits("{{ range(1000000) | length }}", limits),
               xy::ErrorCode::kResourceExhausted, "work units");
}

TEST(JinjaLimits, StringDoublingIsBounded) {
  expect_error(render("{% set ns = namespace(s='0123456789') %}{% for i in range(64) %}{% set ns.s "
                      "= ns.s ~ ns.s %}"
                      "{% endfor %}{{ ns.s | length }}")
                   .status(),
               xy::ErrorCode::kResourceExhausted, "string bytes");
  expect_error(
      render("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}"
             "{% endfor %}{{ ns.l | length }}")
          .status(),
      xy::ErrorCode::kResourceExhausted, "work units");
}

TEST(JinjaLimits, RecursionIsBounded) {
  expect_error(render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").status(),
               xy::ErrorCode::kResourceExhausted, "nested deeper than 48");
  const std::string deep_parens = std::string(5000, '(') + "1" + std::string(5000, ')');
  expect_error(parse_error("{{ " + deep_parens + " }}"), xy::ErrorCode::kFormatError,
               "nested deeper than 128");
  std::string deep_ifs;
  for (int i = 0; i < 1000; ++i) deep_ifs += "{% if true %}";
  expect_error(parse_error(deep_ifs), xy::ErrorCode::kFormatError, "nested deeper than 128");
  std::string deep_not = "{{ " + std::string(4000, ' ') + " }}";
  for (int i = 0; i < 1000; ++i) deep_not.replace(3 + 4 * i, 4, "not ");
  expect_error(parse_error(deep_not), xy::ErrorCode::kFormatError, "nested deeper than 128");
}

TEST(JinjaLimits, SelfContainingNamespaceIsRefused) {
  expect_error(render("{% set ns = namespace() %}{% set ns.me = ns %}").status(),
               xy::ErrorCode::kInvalidArgument, "namespace inside itself");
  expect_error(render("{% set ns = namespace() %}{% set ns.l = [1, {'x': [ns]}] %}").status(),
               xy::ErrorCode::kInvalidArgument, "namespace inside itself");
}

TEST(JinjaLimits, DeeplyNestedInputJsonFailsCleanly) {
  ordered_json v = 1;
  for (int i = 0; i < 600; ++i) v = ordered_json::array({v});
  expect_error(render("{{ v | tojson }}", {{"v", v}}).status(), xy::ErrorCode::kInvalidArgument,
               "deeper than 512");
  expect_error(render("{{ v }}", {{"v", v}}).status(), xy::ErrorCode::kInvalidArgument,
               "deeper than 512");
}

// ---- API behaviour ----

TEST(ChatTemplateApi, ParseOnceRenderFromManyThreads) {
  auto t = xy::ChatTemplate::parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
      "<{{ m.role }}:{{ m.content | trim }}>{% endfor %}{{ ns.n }}{{ eos_token }}");
  ASSERT_TRUE(t.is_ok());
  const xy::ChatTemplate shared = *t;  // copies share the parsed program
  std::vector<std::string> outputs(8);
  std::vector<std::thread> threads;
  for (int k = 0; k < 8; ++k) {
    threads.emplace_back([&, k] {
      ordered_json messages = ordered_json::array();
      for (int i = 0; i <= k; ++i)
        messages.push_back({{"role", "user"}, {"content", " m" + std::to_string(i) + " "}});
      xy::ChatTemplateOptions opts;
      opts.eos_token = "</s>";
      for (int rep = 0; rep < 200; ++rep) {
        auto out = shared.render(messages, opts);
        if (!out.is_ok()) return;
        outputs[k] = *out;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int k = 0; k < 8; ++k) {
    std::string want;
    for (int i = 0; i <= k; ++i) want += "<user:m" + std::to_string(i) + ">";
    want += std::to_string(k + 1) + "</s>";
    EXPECT_EQ(outputs[k], want);
  }
}

TEST(ChatTemplateApi, PlainJsonOverloadSortsKeysOrderedJsonKeepsThem) {
  auto t = xy::ChatTemplate::parse("{{ messages[0] | tojson }}");
  ASSERT_TRUE(t.is_ok());
  xy::ChatTemplateOptions opts;
  const auto ordered = t->render(ordered_json::parse(R"([{"role":"user","content":"x"}])"), opts);
  const auto sorted = t->render(nlohmann::json::parse(R"([{"role":"user","content":"x"}])"), opts);
  ASSERT_TRUE(ordered.is_ok() && sorted.is_ok());
  EXPECT_EQ(*ordered, R"({"role": "user", "content": "x"})");
  EXPECT_EQ(*sorted, R"({"content": "x", "role": "user"})");
}

TEST(ChatTemplateApi, OptionsReachTheContext) {
  auto t = xy::ChatTemplate::parse(
      "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools | length if tools is "
      "defined else 'no tools' }}|"
      "{{ date_string }}|{{ enable_thinking }}|{{ strftime_now('%d %b %Y %H:%M') }}");
  ASSERT_TRUE(t.is_ok());
  xy::ChatTemplateOptions opts;
  opts.bos_token = "<s>";
  opts.eos_token = "</s>";
  opts.add_generation_prompt = false;
  opts.date_string_override = "26 Jul 2024";
  opts.extra_context = {{"enable_thinking", false}};
  opts.clock = [] { return std::time_t{1700000000}; };  // 2023-11-14T22:13:20Z
  auto out = t->render(ordered_json::array(), opts);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(*out, "<s>|</s>|false|no tools|26 Jul 2024|false|14 Nov 2023 22:13");
  opts.tools = ordered_json::array({{{"type", "function"}}, {{"type", "function"}}});
  out = t->render(ordered_json::array(), opts);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(*out, "<s>|</s>|false|2|26 Jul 2024|false|14 Nov 2023 22:13");
}

TEST(ChatTemplateApi, RejectAndSelectWithTestsBeyondTheReference) {
  // Llama 3.1's builtin_tools line uses `reject('equalto', ...)`, which @huggingface/jinja
  // lacks; Python Jinja2 renders it as below.
  auto out = render(
      "{{ xs | reject('equalto', 'code_interpreter') | join(', ') }}|{{ xs | select('in', ['a', "
      "'c']) | list | length }}",
      {{"xs", {"brave_search", "code_interpreter", "wolfram_alpha"}}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(*out, "brave_search, wolfram_alpha|0");
}

}  // namespace
