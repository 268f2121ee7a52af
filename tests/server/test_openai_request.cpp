// The OpenAI request parser: every field reaches the native structs, and every malformed input
// is a 400 naming the offending field (never an exception, never a crash).
#include <gtest/gtest.h>

#include <string>

#include "server/protocol/openai_request.h"

namespace xy::server {
namespace {

// By value: the Parsed argument is usually a temporary.
template <class T>
T ok(const Parsed<T>& p) {
  if (const ApiError* e = std::get_if<ApiError>(&p)) {
    ADD_FAILURE() << "unexpected error: " << e->message;
    return T{};
  }
  return std::get<T>(p);
}

template <class T>
ApiError err(const Parsed<T>& p) {
  if (!std::holds_alternative<ApiError>(p)) {
    ADD_FAILURE() << "expected an error";
    return {};
  }
  return std::get<ApiError>(p);
}

TEST(OpenAIRequest, CompletionFieldsReachNativeStruct) {
  const auto r = ok(parse_completion_request(R"({
    "model": "m", "prompt": "hello", "max_tokens": 7, "temperature": 0.5, "top_p": 0.9,
    "top_k": 40, "min_p": 0.1, "stop": ["a", "bc"], "seed": 42, "n": 3,
    "presence_penalty": 0.5, "frequency_penalty": -0.5, "repetition_penalty": 1.2,
    "logit_bias": {"12": -100, "7": 2.5}, "logprobs": 4, "ignore_eos": true, "user": "u",
    "stream": true, "stream_options": {"include_usage": true}, "echo": true, "unknown": {"x": 1}})"));
  EXPECT_EQ(r.gen.model, "m");
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_EQ(std::get<std::string>(r.prompts[0].value), "hello");
  EXPECT_EQ(r.gen.max_tokens, 7);
  EXPECT_FLOAT_EQ(r.gen.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.gen.sampling.top_p, 0.9f);
  EXPECT_EQ(r.gen.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(r.gen.sampling.min_p, 0.1f);
  EXPECT_EQ(r.gen.stop, (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(r.gen.sampling.seed, 42u);
  EXPECT_EQ(r.gen.n, 3);
  EXPECT_FLOAT_EQ(r.gen.sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.gen.sampling.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(r.gen.sampling.repetition_penalty, 1.2f);
  EXPECT_FLOAT_EQ(r.gen.sampling.logit_bias.at(12), -100.0f);
  EXPECT_FLOAT_EQ(r.gen.sampling.logit_bias.at(7), 2.5f);
  EXPECT_EQ(r.gen.sampling.logprobs, 4);
  EXPECT_TRUE(r.gen.logprobs);
  EXPECT_TRUE(r.gen.sampling.return_sampled_logprob);
  EXPECT_TRUE(r.gen.ignore_eos);
  EXPECT_TRUE(r.gen.stream);
  EXPECT_TRUE(r.gen.include_usage);
  EXPECT_TRUE(r.echo);
  EXPECT_EQ(r.gen.user, "u");
  EXPECT_TRUE(r.gen.sampling_set.temperature && r.gen.sampling_set.top_p &&
              r.gen.sampling_set.top_k && r.gen.sampling_set.min_p &&
              r.gen.sampling_set.repetition_penalty);
  // Unset (or null) fields are marked so the model's generation_config.json defaults apply.
  const auto bare =
      ok(parse_completion_request(R"({"model":"m","prompt":"x","temperature":null})"));
  EXPECT_FALSE(bare.gen.sampling_set.temperature || bare.gen.sampling_set.top_p ||
               bare.gen.sampling_set.top_k || bare.gen.sampling_set.min_p ||
               bare.gen.sampling_set.repetition_penalty);
}

TEST(OpenAIRequest, CompletionPromptForms) {
  EXPECT_EQ(ok(parse_completion_request(R"({"model":"m","prompt":[1,2,3]})")).prompts.size(), 1u);
  const auto many = ok(parse_completion_request(R"({"model":"m","prompt":["a",[4,5],"c"]})"));
  ASSERT_EQ(many.prompts.size(), 3u);
  EXPECT_TRUE(many.prompts[0].is_text());
  EXPECT_EQ(std::get<std::vector<int32_t>>(many.prompts[1].value), (std::vector<int32_t>{4, 5}));
  // The completions default max_tokens is 16 (OpenAI); chat has none (until the context ends).
  EXPECT_EQ(ok(parse_completion_request(R"({"model":"m","prompt":"x"})")).gen.max_tokens, 16);
  EXPECT_FALSE(ok(parse_chat_completion_request(
                      R"({"model":"m","messages":[{"role":"user","content":"x"}]})"))
                   .gen.max_tokens.has_value());
  EXPECT_EQ(
      ok(parse_completion_request(R"({"model":"m","prompt":"x","max_tokens":5.0})")).gen.max_tokens,
      5);
  EXPECT_EQ(
      ok(parse_completion_request(R"({"model":"m","prompt":"x","seed":null})")).gen.sampling.seed,
      std::nullopt);
}

TEST(OpenAIRequest, ChatMessagesAndLogprobs) {
  const auto r = ok(parse_chat_completion_request(R"({
    "model": "m", "max_tokens": 3, "max_completion_tokens": 9, "logprobs": true, "top_logprobs": 5,
    "messages": [
      {"role": "developer", "content": "be nice"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
      {"role": "assistant", "content": null, "tool_calls": []},
      {"role": "tool", "content": "42", "tool_call_id": "t1"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    "chat_template_kwargs": {"enable_thinking": false}})"));
  EXPECT_EQ(r.gen.max_tokens, 9);  // max_completion_tokens wins
  EXPECT_TRUE(r.gen.logprobs);
  EXPECT_EQ(r.gen.sampling.logprobs, 5);
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.messages[1]["content"], "a\nb");
  EXPECT_TRUE(r.messages[2]["content"].is_null());
  EXPECT_EQ(r.messages[3]["tool_call_id"], "t1");
  EXPECT_TRUE(r.tools.is_array());
  EXPECT_EQ(r.chat_template_kwargs["enable_thinking"], false);
}

struct BadCase {
  const char* body;
  const char* param;
};

TEST(OpenAIRequest, CompletionErrorsNameTheField) {
  const BadCase cases[] = {
      {R"({"prompt":"x"})", "model"},
      {R"({"model":"m"})", "prompt"},
      {R"({"model":"m","prompt":5})", "prompt"},
      {R"({"model":"m","prompt":[]})", "prompt"},
      {R"({"model":"m","prompt":[[]]})", "prompt"},
      {R"({"model":"m","prompt":[1,"a"]})", "prompt[1]"},
      {R"({"model":"m","prompt":"x","temperature":"hot"})", "temperature"},
      {R"({"model":"m","prompt":"x","temperature":-1})", "temperature"},
      {R"({"model":"m","prompt":"x","top_p":0})", "top_p"},
      {R"({"model":"m","prompt":"x","top_k":-2})", "top_k"},
      {R"({"model":"m","prompt":"x","min_p":2})", "min_p"},
      {R"({"model":"m","prompt":"x","presence_penalty":3})", "presence_penalty"},
      {R"({"model":"m","prompt":"x","max_tokens":0})", "max_tokens"},
      {R"({"model":"m","prompt":"x","max_tokens":1.5})", "max_tokens"},
      {R"({"model":"m","prompt":"x","n":0})", "n"},
      {R"({"model":"m","prompt":"x","n":1000})", "n"},
      {R"({"model":"m","prompt":"x","stop":""})", "stop"},
      {R"({"model":"m","prompt":"x","stop":{}})", "stop"},
      {R"({"model":"m","prompt":"x","logit_bias":{"-3":1}})", "logit_bias"},
      {R"({"model":"m","prompt":"x","logit_bias":{"3":"a"}})", "logit_bias.3"},
      {R"({"model":"m","prompt":"x","logit_bias":{"3":101}})", "logit_bias"},
      {R"({"model":"m","prompt":"x","logprobs":21})", "logprobs"},
      {R"({"model":"m","prompt":"x","logprobs":true})", "logprobs"},
      {R"({"model":"m","prompt":"x","stream_options":{"include_usage":true}})", "stream_options"},
      {R"({"model":"m","prompt":"x","stream":true,"stream_options":{"include_usage":1}})",
       "stream_options.include_usage"},
      {R"({"model":"m","prompt":"x","best_of":3})", "best_of"},
      {R"({"model":"m","prompt":"x","seed":"1"})", "seed"},
      {R"({"model":"m","prompt":"x","stop_token_ids":[-1]})", "stop_token_ids[0]"},
  };
  for (const BadCase& c : cases) {
    const ApiError e = err(parse_completion_request(c.body));
    EXPECT_EQ(e.http_status, 400) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error") << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << " -> " << e.message;
    EXPECT_FALSE(e.message.empty());
  }
}

TEST(OpenAIRequest, ChatErrorsNameTheField) {
  const BadCase cases[] = {
      {R"({"model":"m"})", "messages"},
      {R"({"model":"m","messages":{}})", "messages"},
      {R"({"model":"m","messages":[]})", "messages"},
      {R"({"model":"m","messages":["hi"]})", "messages[0]"},
      {R"({"model":"m","messages":[{"role":"x","content":"a"}]})", "messages[0].role"},
      {R"({"model":"m","messages":[{"role":"user"}]})", "messages[0].content"},
      {R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
       "messages[0].content[0].type"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"top_logprobs":2})",
       "top_logprobs"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"logprobs":true,"top_logprobs":21})",
       "top_logprobs"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"tools":{}})", "tools"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_schema"}})",
       "response_format.json_schema"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"response_format":{"type":"yaml"}})",
       "response_format.type"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_object"},"guided_regex":"a"})",
       "guided_regex"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"guided_json":"{not json"})",
       "guided_json"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"guided_choice":[]})",
       "guided_choice"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"tools":[{"type":"function"}]})",
       "tools[0].function"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f","parameters":3}}]})",
       "tools[0].function.parameters"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"tool_choice":"required"})",
       "tool_choice"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"})",
       "tool_choice"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}})",
       "tool_choice"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required","guided_regex":"x"})",
       "guided_regex"},
      {R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{bad"}}]}]})",
       "messages[0].tool_calls[0].function.arguments"},
  };
  for (const BadCase& c : cases) {
    const ApiError e = err(parse_chat_completion_request(c.body));
    EXPECT_EQ(e.http_status, 400) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << " -> " << e.message;
  }
}

TEST(OpenAIRequest, MalformedBodies) {
  const std::string bodies[] = {"",
                                "{",
                                "null",
                                "[]",
                                "\"x\"",
                                "{\"model\":}",
                                std::string(100000, '['),
                                "{\"model\":\"m\",\"prompt\":\"\xff\"}",
                                std::string("{\"a\":\"\0\"}", 9)};
  for (const std::string& b : bodies) {
    const ApiError e = err(parse_completion_request(b));
    EXPECT_EQ(e.http_status, 400) << b.substr(0, 20);
  }
  const ApiError utf8 = err(parse_chat_completion_request("{\"model\":\"m\",\"x\":\"\xc3\x28\"}"));
  EXPECT_NE(utf8.message.find("UTF-8"), std::string::npos) << utf8.message;
  // The error object itself is valid JSON even when the message quotes hostile bytes.
  EXPECT_NE(utf8.to_json().find("\"invalid_request_error\""), std::string::npos);
}

TEST(OpenAIRequest, TokenizeAndDetokenize) {
  const auto t =
      ok(parse_tokenize_request(R"({"model":"m","prompt":"hi","add_special_tokens":false})"));
  EXPECT_EQ(t.prompt, "hi");
  EXPECT_FALSE(t.add_special_tokens);
  const auto tm = ok(parse_tokenize_request(R"({"messages":[{"role":"user","content":"x"}]})"));
  EXPECT_FALSE(tm.prompt.has_value());
  EXPECT_EQ(tm.messages.size(), 1u);
  EXPECT_EQ(err(parse_tokenize_request(R"({"model":"m"})")).param, "prompt");
  EXPECT_EQ(
      err(parse_tokenize_request(R"({"prompt":"a","messages":[{"role":"user","content":"x"}]})"))
          .http_status,
      400);
  EXPECT_EQ(ok(parse_detokenize_request(R"({"tokens":[1,2]})")).tokens,
            (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(err(parse_detokenize_request(R"({"tokens":[1,"a"]})")).param, "tokens[1]");
}

TEST(ApiError, JsonShape) {
  const ApiError e = bad_request("bad thing", "temperature", "");
  EXPECT_EQ(
      e.to_json(),
      R"({"error":{"code":null,"message":"bad thing","param":"temperature","type":"invalid_request_error"}})");
  EXPECT_EQ(api_error_from_status(resource_exhausted("full")).http_status, 429);
  EXPECT_EQ(api_error_from_status(not_found("x")).http_status, 404);
  EXPECT_EQ(api_error_from_status(internal_error("x")).http_status, 500);
}

TEST(OpenAIRequest, StructuredOutputFieldsReachNativeStruct) {
  const auto schema = ok(parse_chat_completion_request(R"({"model":"m",
    "messages":[{"role":"user","content":"a"}],
    "response_format":{"type":"json_schema","json_schema":{"name":"p","strict":true,
      "schema":{"type":"object","properties":{"z":{"type":"string"},"a":{"type":"integer"}}}}}})"));
  EXPECT_EQ(schema.gen.constraint.kind, OutputConstraint::Kind::kJsonSchema);
  // Property order survives (the output follows it).
  EXPECT_LT(schema.gen.constraint.text.find("\"z\""), schema.gen.constraint.text.find("\"a\""));
  EXPECT_EQ(schema.gen.constraint.param, "response_format.json_schema.schema");
  const auto object = ok(parse_completion_request(
      R"({"model":"m","prompt":"p","response_format":{"type":"json_object"}})"));
  EXPECT_EQ(object.gen.constraint.kind, OutputConstraint::Kind::kJsonObject);
  const auto regex =
      ok(parse_completion_request(R"({"model":"m","prompt":"p","guided_regex":"a+"})"));
  EXPECT_EQ(regex.gen.constraint.kind, OutputConstraint::Kind::kRegex);
  EXPECT_EQ(regex.gen.constraint.text, "a+");
  const auto choice = ok(parse_completion_request(
      R"({"model":"m","prompt":"p","structured_outputs":{"choice":["x","y"]}})"));
  EXPECT_EQ(choice.gen.constraint.kind, OutputConstraint::Kind::kChoice);
  EXPECT_EQ(choice.gen.constraint.choices, (std::vector<std::string>{"x", "y"}));
  const auto grammar = ok(
      parse_completion_request(R"({"model":"m","prompt":"p","guided_grammar":"root ::= \"a\""})"));
  EXPECT_EQ(grammar.gen.constraint.kind, OutputConstraint::Kind::kGrammar);
  const auto json_string = ok(parse_completion_request(
      R"({"model":"m","prompt":"p","guided_json":"{\"type\":\"integer\"}"})"));
  EXPECT_EQ(json_string.gen.constraint.text, R"({"type":"integer"})");
}

TEST(OpenAIRequest, ToolsAndToolChoice) {
  const char* tools =
      R"([{"type":"function","function":{"name":"f","parameters":{"type":"object"}}},
          {"type":"function","function":{"name":"g"}}])";
  const auto plain = ok(parse_chat_completion_request(
      std::string(R"({"model":"m","messages":[{"role":"user","content":"a"}],"tools":)") + tools +
      "}"));
  EXPECT_EQ(plain.tool_choice.mode, ToolChoice::Mode::kAuto);
  EXPECT_TRUE(plain.parallel_tool_calls);
  const auto named = ok(parse_chat_completion_request(
      std::string(
          R"({"model":"m","messages":[{"role":"user","content":"a"}],"parallel_tool_calls":false,"tool_choice":{"type":"function","function":{"name":"g"}},"tools":)") +
      tools + "}"));
  EXPECT_EQ(named.tool_choice.mode, ToolChoice::Mode::kNamed);
  EXPECT_EQ(named.tool_choice.name, "g");
  EXPECT_FALSE(named.parallel_tool_calls);
  const auto none = ok(
      parse_chat_completion_request(R"({"model":"m","messages":[{"role":"user","content":"a"}]})"));
  EXPECT_EQ(none.tool_choice.mode, ToolChoice::Mode::kNone);
  // Assistant tool calls reach the template with their arguments as objects.
  const auto history = ok(parse_chat_completion_request(R"({"model":"m","messages":[
      {"role":"user","content":"a"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
        "function":{"name":"f","arguments":"{\"x\": 1}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"42"}]})"));
  EXPECT_EQ(history.messages[1]["tool_calls"][0]["function"]["arguments"]["x"], 1);
  EXPECT_EQ(history.messages[2]["tool_call_id"], "call_1");
}

}  // namespace
}  // namespace xy::server
