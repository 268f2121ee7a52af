#include "server/protocol/openai_request.h"

#include <cmath>
#include <limits>

#include "tokenizer/utf8.h"

namespace xy::server {
namespace {

// Ordered: a JSON Schema's property order is the order its output follows.
using json = nlohmann::ordered_json;

// Nesting deeper than any real request is rejected before parsing, so hostile bodies like
// "[[[[..." cost a linear scan and nothing recursive.
constexpr int kMaxJsonDepth = 64;

// Scans JSON text for bracket depth outside strings.
bool nesting_within(std::string_view s, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    case json::value_t::number_float:
      return "number";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    default:
      return "value";
  }
}

// Thrown inside this file only; every public entry point converts it to an ApiError.
struct FieldError {
  ApiError error;
};

[[noreturn]] void fail(std::string message, std::string param) {
  throw FieldError{bad_request(std::move(message), std::move(param))};
}

[[noreturn]] void wrong_type(const std::string& param, const json& v, const char* expected) {
  fail("'" + param + "' must be " + expected + ", got " + type_name(v), param);
}

// Parses the body into a JSON object: 400 on invalid UTF-8, syntax errors and non-objects.
json parse_object(std::string_view body) {
  const size_t bad = utf8::find_invalid(body);
  if (bad != std::string_view::npos) {
    fail("request body is not valid UTF-8 (byte offset " + std::to_string(bad) + ")", "");
  }
  if (!nesting_within(body, kMaxJsonDepth)) {
    fail("request body nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels", "");
  }
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    fail(std::string("invalid JSON in request body: ") + e.what(), "");
  }
  if (!j.is_object())
    fail(std::string("request body must be a JSON object, got ") + type_name(j), "");
  return j;
}

// Typed access to optional fields; null counts as absent (SDKs send explicit nulls).
class Fields {
 public:
  explicit Fields(const json& obj, std::string prefix = "")
      : obj_(obj), prefix_(std::move(prefix)) {}

  const json* get(const char* key) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  std::string name(const char* key) const { return prefix_ + key; }

  std::optional<std::string> str(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) wrong_type(name(key), *v, "a string");
    return v->get<std::string>();
  }
  std::optional<bool> boolean(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) wrong_type(name(key), *v, "a boolean");
    return v->get<bool>();
  }
  std::optional<double> number(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) wrong_type(name(key), *v, "a number");
    return v->get<double>();
  }
  std::optional<int64_t> integer(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    return as_integer(*v, name(key));
  }
  static int64_t as_integer(const json& v, const std::string& param) {
    if (v.is_number_integer() || v.is_number_unsigned()) {
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
        fail("'" + param + "' is too large", param);
      return v.get<int64_t>();
    }
    // 3.0 is an integer to Python clients; 3.5 is not.
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return int64_t(d);
    }
    wrong_type(param, v, "an integer");
  }

 private:
  const json& obj_;
  std::string prefix_;
};

int checked_int(int64_t v, int64_t lo, int64_t hi, const std::string& param) {
  if (v < lo || v > hi) {
    fail("'" + param + "' = " + std::to_string(v) + " is out of range [" + std::to_string(lo) +
             ", " + std::to_string(hi) + "]",
         param);
  }
  return int(v);
}

std::vector<int32_t> token_id_array(const json& v, const std::string& param) {
  if (!v.is_array()) wrong_type(param, v, "an array of token ids");
  std::vector<int32_t> ids;
  ids.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = param + "[" + std::to_string(i) + "]";
    ids.push_back(int32_t(
        checked_int(Fields::as_integer(v[i], p), 0, std::numeric_limits<int32_t>::max(), p)));
  }
  return ids;
}

KvTransferParams parse_kv_transfer(const json& v) {
  if (!v.is_object()) wrong_type("kv_transfer_params", v, "an object");
  Fields f(v, "kv_transfer_params.");
  KvTransferParams p;
  p.do_remote_decode = f.boolean("do_remote_decode").value_or(false);
  p.do_remote_prefill = f.boolean("do_remote_prefill").value_or(false);
  if (p.do_remote_decode && p.do_remote_prefill)
    fail("'kv_transfer_params': do_remote_decode and do_remote_prefill exclude each other",
         "kv_transfer_params");
  if (!p.do_remote_prefill) return p;
  auto id = f.str("transfer_id");
  if (!id || id->empty() || id->size() > 256)
    fail("'kv_transfer_params.transfer_id' must be a string of 1 to 256 bytes",
         "kv_transfer_params.transfer_id");
  p.transfer_id = *id;
  auto host = f.str("remote_host");
  if (!host || host->empty())
    fail("'kv_transfer_params.remote_host' is required", "kv_transfer_params.remote_host");
  p.remote_host = *host;
  auto port = f.integer("remote_port");
  if (!port) fail("'kv_transfer_params.remote_port' is required", "kv_transfer_params.remote_port");
  p.remote_port = checked_int(*port, 1, 65535, "kv_transfer_params.remote_port");
  if (auto transport = f.str("kv_transport")) {
    if (*transport != "tcp" && *transport != "ucx")
      fail("'kv_transfer_params.kv_transport' must be 'ucx' or 'tcp'",
           "kv_transfer_params.kv_transport");
    p.kv_transport = *transport;
  }
  const json* sampled = f.get("sampled_token_ids");
  if (!sampled)
    fail("'kv_transfer_params.sampled_token_ids' is required",
         "kv_transfer_params.sampled_token_ids");
  p.sampled_token_ids = token_id_array(*sampled, "kv_transfer_params.sampled_token_ids");
  if (p.sampled_token_ids.empty())
    fail("'kv_transfer_params.sampled_token_ids' must not be empty",
         "kv_transfer_params.sampled_token_ids");
  if (auto v = f.integer("rng_position")) {
    if (*v < 0)
      fail("'kv_transfer_params.rng_position' must be >= 0", "kv_transfer_params.rng_position");
    p.rng_position = uint64_t(*v);
  }
  return p;
}

// Fields common to both generation endpoints. `chat` selects the logprobs shape: chat has
// logprobs: bool + top_logprobs: int; completions has logprobs: int (top alternatives).
OutputConstraint parse_constraint(const Fields& f);

GenerationOptions parse_generation(const json& body, bool chat) {
  Fields f(body);
  GenerationOptions g;
  auto model = f.str("model");
  if (!model) fail("'model' is required", "model");
  g.model = *model;

  SamplingParams& s = g.sampling;
  SamplingFieldsSet& set = g.sampling_set;
  if (auto v = f.number("temperature")) {
    s.temperature = float(*v);
    set.temperature = true;
  }
  if (auto v = f.number("top_p")) {
    s.top_p = float(*v);
    set.top_p = true;
  }
  if (auto v = f.integer("top_k")) {
    s.top_k = checked_int(*v, -1, std::numeric_limits<int>::max(), "top_k");
    set.top_k = true;
  }
  if (auto v = f.number("min_p")) {
    s.min_p = float(*v);
    set.min_p = true;
  }
  if (auto v = f.number("presence_penalty")) s.presence_penalty = float(*v);
  if (auto v = f.number("frequency_penalty")) s.frequency_penalty = float(*v);
  if (auto v = f.number("repetition_penalty")) {
    s.repetition_penalty = float(*v);
    set.repetition_penalty = true;
  }
  if (const json* v = f.get("seed")) {
    const int64_t seed = Fields::as_integer(*v, "seed");
    s.seed = uint64_t(seed);
  }
  if (const json* lb = f.get("logit_bias")) {
    if (!lb->is_object()) wrong_type("logit_bias", *lb, "an object mapping token ids to biases");
    for (auto it = lb->begin(); it != lb->end(); ++it) {
      const std::string param = "logit_bias." + it.key();
      int64_t id = -1;
      const std::string& key = it.key();
      bool digits = !key.empty() && key.size() <= 10;
      for (char c : key) digits = digits && c >= '0' && c <= '9';
      if (digits) id = std::stoll(key);
      if (!digits || id > std::numeric_limits<int32_t>::max())
        fail("'logit_bias' keys must be token ids (non-negative integers), got '" + key + "'",
             "logit_bias");
      if (!it->is_number()) wrong_type(param, *it, "a number");
      s.logit_bias[int32_t(id)] = it->get<float>();
    }
  }
  if (const json* v = f.get("allowed_token_ids"))
    s.allowed_token_ids = token_id_array(*v, "allowed_token_ids");

  // max_completion_tokens is the newer OpenAI name; it wins when both are present.
  std::optional<int64_t> max_tokens = f.integer("max_tokens");
  if (chat) {
    if (auto v = f.integer("max_completion_tokens")) max_tokens = v;
  }
  if (max_tokens) {
    const char* param =
        chat && f.get("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    g.max_tokens = checked_int(*max_tokens, 1, std::numeric_limits<int>::max(), param);
  }
  if (auto v = f.integer("n")) g.n = checked_int(*v, 1, ProtocolLimits::kMaxN, "n");
  if (auto v = f.integer("best_of")) {
    if (*v != g.n) fail("'best_of' different from 'n' is not supported", "best_of");
  }
  if (const json* v = f.get("stop")) {
    if (v->is_string()) {
      g.stop.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      if (v->size() > size_t(ProtocolLimits::kMaxStopSequences))
        fail("'stop' has more than " + std::to_string(ProtocolLimits::kMaxStopSequences) +
                 " sequences",
             "stop");
      for (size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_string())
          wrong_type("stop[" + std::to_string(i) + "]", (*v)[i], "a string");
        g.stop.push_back((*v)[i].get<std::string>());
      }
    } else {
      wrong_type("stop", *v, "a string or an array of strings");
    }
    for (const std::string& st : g.stop)
      if (st.empty()) fail("'stop' sequences must be non-empty", "stop");
  }
  if (const json* v = f.get("stop_token_ids"))
    g.stop_token_ids = token_id_array(*v, "stop_token_ids");
  if (auto v = f.boolean("ignore_eos")) g.ignore_eos = *v;
  if (auto v = f.integer("min_tokens"); v && *v != 0)
    fail("'min_tokens' is not supported", "min_tokens");
  if (auto v = f.boolean("skip_special_tokens")) g.skip_special_tokens = *v;
  if (auto v = f.boolean("include_stop_str_in_output")) g.include_stop_str_in_output = *v;
  if (auto v = f.boolean("stream")) g.stream = *v;
  if (const json* so = f.get("stream_options")) {
    if (!so->is_object()) wrong_type("stream_options", *so, "an object");
    if (!g.stream) fail("'stream_options' is only allowed when 'stream' is true", "stream_options");
    Fields sf(*so, "stream_options.");
    if (auto v = sf.boolean("include_usage")) g.include_usage = *v;
    if (auto v = sf.boolean("continuous_usage_stats")) g.continuous_usage_stats = *v;
  }
  if (auto v = f.integer("priority")) g.priority = checked_int(*v, -1000000, 1000000, "priority");
  if (auto v = f.str("user")) g.user = *v;
  g.constraint = parse_constraint(f);
  if (const json* kv = f.get("kv_transfer_params")) g.kv_transfer = parse_kv_transfer(*kv);

  if (chat) {
    if (auto v = f.boolean("logprobs")) g.logprobs = *v;
    if (auto v = f.integer("top_logprobs")) {
      s.logprobs = checked_int(*v, 0, SamplingParams::kMaxLogprobs, "top_logprobs");
      if (s.logprobs > 0 && !g.logprobs)
        fail("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
    }
  } else if (const json* v = f.get("logprobs")) {
    // Completions: an integer count of alternatives (0 = only the sampled token's logprob).
    if (v->is_boolean()) wrong_type("logprobs", *v, "an integer");
    s.logprobs = checked_int(Fields::as_integer(*v, "logprobs"), 0,
                             ProtocolLimits::kMaxCompletionLogprobs, "logprobs");
    g.logprobs = true;
  }
  s.return_sampled_logprob = g.logprobs;

  // One place decides what is a legal sampling request; map its message onto the field.
  if (Status st = s.validate(); !st.is_ok()) {
    std::string param;
    const std::string& m = st.message();
    const size_t q = m.find('\'');
    if (q != std::string::npos) param = m.substr(q + 1, m.find('\'', q + 1) - q - 1);
    if (chat && param == "logprobs") param = "top_logprobs";
    throw FieldError{bad_request(m, param)};
  }
  return g;
}

// The one structured-output constraint of a request, from response_format, vLLM's guided_*
// fields or its structured_outputs object; two different ones are a 400.
OutputConstraint parse_constraint(const Fields& f) {
  std::vector<OutputConstraint> found;
  const auto schema_text = [](const json& v, const std::string& param) {
    if (v.is_string()) {
      try {
        return json::parse(v.get<std::string>()).dump();
      } catch (const json::parse_error& e) {
        fail("'" + param + "' is not valid JSON: " + e.what(), param);
      }
    }
    if (!v.is_object() && !v.is_boolean()) wrong_type(param, v, "a JSON Schema object");
    return v.dump();
  };
  const auto add = [&](OutputConstraint::Kind kind, std::string text, std::string param) {
    OutputConstraint c;
    c.kind = kind;
    c.text = std::move(text);
    c.param = std::move(param);
    found.push_back(std::move(c));
  };
  const auto choices = [&](const json& v, const std::string& param) {
    if (!v.is_array() || v.empty()) wrong_type(param, v, "a non-empty array of strings");
    OutputConstraint c;
    c.kind = OutputConstraint::Kind::kChoice;
    c.param = param;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) wrong_type(param + "[" + std::to_string(i) + "]", v[i], "a string");
      c.choices.push_back(v[i].get<std::string>());
    }
    found.push_back(std::move(c));
  };
  if (const json* rf = f.get("response_format")) {
    if (!rf->is_object()) wrong_type("response_format", *rf, "an object");
    Fields rff(*rf, "response_format.");
    auto type = rff.str("type");
    if (!type) fail("'response_format.type' is required", "response_format.type");
    if (*type == "json_object") {
      add(OutputConstraint::Kind::kJsonObject, "", "response_format");
    } else if (*type == "json_schema") {
      const json* js = rff.get("json_schema");
      if (!js)
        fail("'response_format.json_schema' is required for type 'json_schema'",
             "response_format.json_schema");
      if (!js->is_object()) wrong_type("response_format.json_schema", *js, "an object");
      Fields jf(*js, "response_format.json_schema.");
      (void)jf.str("name");
      (void)jf.boolean("strict");
      const json* schema = jf.get("schema");
      // No schema: any JSON object (OpenAI requires one; vLLM treats it as json_object).
      if (!schema) {
        add(OutputConstraint::Kind::kJsonObject, "", "response_format.json_schema");
      } else {
        add(OutputConstraint::Kind::kJsonSchema,
            schema_text(*schema, "response_format.json_schema.schema"),
            "response_format.json_schema.schema");
      }
    } else if (*type != "text") {
      fail("response_format type '" + *type + "' is not supported (text, json_object, json_schema)",
           "response_format.type");
    }
  }
  if (const json* v = f.get("guided_json")) {
    add(OutputConstraint::Kind::kJsonSchema, schema_text(*v, "guided_json"), "guided_json");
  }
  if (auto v = f.str("guided_regex")) add(OutputConstraint::Kind::kRegex, *v, "guided_regex");
  if (const json* v = f.get("guided_choice")) choices(*v, "guided_choice");
  if (auto v = f.str("guided_grammar")) add(OutputConstraint::Kind::kGrammar, *v, "guided_grammar");
  if (const json* so = f.get("structured_outputs")) {
    if (!so->is_object()) wrong_type("structured_outputs", *so, "an object");
    Fields sf(*so, "structured_outputs.");
    if (const json* v = sf.get("json")) {
      add(OutputConstraint::Kind::kJsonSchema, schema_text(*v, "structured_outputs.json"),
          "structured_outputs.json");
    }
    if (auto v = sf.str("regex"))
      add(OutputConstraint::Kind::kRegex, *v, "structured_outputs.regex");
    if (const json* v = sf.get("choice")) choices(*v, "structured_outputs.choice");
    if (auto v = sf.str("grammar")) {
      add(OutputConstraint::Kind::kGrammar, *v, "structured_outputs.grammar");
    }
    if (auto v = sf.boolean("json_object"); v && *v) {
      add(OutputConstraint::Kind::kJsonObject, "", "structured_outputs.json_object");
    }
  }
  if (found.size() > 1) {
    fail("only one output constraint may be given, got '" + found[0].param + "' and '" +
             found[1].param + "'",
         found[1].param);
  }
  return found.empty() ? OutputConstraint{} : std::move(found[0]);
}

// tools: [{"type":"function","function":{"name","description"?,"parameters"?,"strict"?}}].
nlohmann::ordered_json parse_tools(const json& t) {
  if (!t.is_array()) wrong_type("tools", t, "an array");
  for (size_t i = 0; i < t.size(); ++i) {
    const std::string p = "tools[" + std::to_string(i) + "]";
    if (!t[i].is_object()) wrong_type(p, t[i], "an object");
    Fields tf(t[i], p + ".");
    auto type = tf.str("type");
    if (type && *type != "function")
      fail("tool type '" + *type + "' is not supported (only 'function')", p + ".type");
    const json* fn = tf.get("function");
    if (!fn) fail("'" + p + ".function' is required", p + ".function");
    if (!fn->is_object()) wrong_type(p + ".function", *fn, "an object");
    Fields ff(*fn, p + ".function.");
    auto name = ff.str("name");
    if (!name || name->empty()) fail("'" + p + ".function.name' is required", p + ".function.name");
    (void)ff.str("description");
    if (const json* params = ff.get("parameters"); params && !params->is_object())
      wrong_type(p + ".function.parameters", *params, "a JSON Schema object");
  }
  return nlohmann::ordered_json::parse(t.dump());
}

ToolChoice parse_tool_choice(const json& v, const nlohmann::ordered_json& tools) {
  ToolChoice c;
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "auto")
      c.mode = ToolChoice::Mode::kAuto;
    else if (s == "none")
      c.mode = ToolChoice::Mode::kNone;
    else if (s == "required")
      c.mode = ToolChoice::Mode::kRequired;
    else
      fail("'tool_choice' = '" + s + "' is not one of none, auto, required", "tool_choice");
  } else if (v.is_object()) {
    Fields cf(v, "tool_choice.");
    auto type = cf.str("type");
    if (type && *type != "function")
      fail("tool_choice type '" + *type + "' is not supported (only 'function')",
           "tool_choice.type");
    const json* fn = cf.get("function");
    if (!fn || !fn->is_object()) fail("'tool_choice.function' is required", "tool_choice.function");
    auto name = Fields(*fn, "tool_choice.function.").str("name");
    if (!name) fail("'tool_choice.function.name' is required", "tool_choice.function.name");
    c.mode = ToolChoice::Mode::kNamed;
    c.name = *name;
  } else {
    wrong_type("tool_choice", v, "a string or an object");
  }
  if (c.mode != ToolChoice::Mode::kNone && tools.is_null())
    fail("'tool_choice' is only allowed when 'tools' are given", "tool_choice");
  if (c.mode == ToolChoice::Mode::kNamed) {
    bool known = false;
    for (const auto& t : tools) known = known || t["function"]["name"] == c.name;
    if (!known)
      fail("tool_choice names function '" + c.name + "', which is not in 'tools'", "tool_choice");
  }
  return c;
}

// Chat message content: a string, null, or an array of {"type":"text","text":...} parts.
json flatten_content(const json& content, const std::string& param) {
  if (content.is_null() || content.is_string()) return content;
  if (!content.is_array()) wrong_type(param, content, "a string or an array of content parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string p = param + "[" + std::to_string(i) + "]";
    if (!part.is_object()) wrong_type(p, part, "an object");
    Fields pf(part, p + ".");
    auto type = pf.str("type");
    if (!type) fail("'" + p + ".type' is required", p + ".type");
    if (*type != "text")
      fail("content part type '" + *type + "' is not supported (text only)", p + ".type");
    auto t = pf.str("text");
    if (!t) fail("'" + p + ".text' is required", p + ".text");
    if (!text.empty()) text += "\n";
    text += *t;
  }
  return text;
}

nlohmann::ordered_json parse_messages(const json& v) {
  if (!v.is_array()) wrong_type("messages", v, "an array");
  if (v.empty()) fail("'messages' must contain at least one message", "messages");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = "messages[" + std::to_string(i) + "]";
    const json& m = v[i];
    if (!m.is_object()) wrong_type(p, m, "an object");
    Fields mf(m, p + ".");
    auto role = mf.str("role");
    if (!role) fail("'" + p + ".role' is required", p + ".role");
    if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool" &&
        *role != "developer") {
      fail("'" + p + ".role' = '" + *role +
               "' is not one of system, developer, user, assistant, tool",
           p + ".role");
    }
    nlohmann::ordered_json msg = nlohmann::ordered_json::parse(m.dump());
    auto it = m.find("content");
    if (it == m.end() && *role != "assistant")
      fail("'" + p + ".content' is required", p + ".content");
    msg["content"] = nlohmann::ordered_json::parse(
        flatten_content(it == m.end() ? json(nullptr) : *it, p + ".content").dump());
    if (*role == "developer") msg["role"] = "system";  // templates know "system"
    if (*role == "assistant" && msg.contains("tool_calls") && !msg["tool_calls"].is_null()) {
      auto& calls = msg["tool_calls"];
      if (!calls.is_array()) wrong_type(p + ".tool_calls", m["tool_calls"], "an array");
      for (size_t k = 0; k < calls.size(); ++k) {
        const std::string cp = p + ".tool_calls[" + std::to_string(k) + "]";
        auto& call = calls[k];
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object() ||
            !call["function"].contains("name") || !call["function"]["name"].is_string()) {
          fail("'" + cp +
                   "' must be {\"id\", \"type\": \"function\", \"function\": {\"name\", "
                   "\"arguments\"}}",
               cp);
        }
        // Templates index into the arguments (tool_call.arguments | tojson, .items()): give
        // them the object the JSON text encodes, as vLLM does.
        auto& args = call["function"]["arguments"];
        if (args.is_string()) {
          try {
            args = nlohmann::ordered_json::parse(args.get<std::string>());
          } catch (const nlohmann::json::exception&) {
            fail("'" + cp + ".function.arguments' is not valid JSON", cp + ".function.arguments");
          }
        }
      }
    }
    out.push_back(std::move(msg));
  }
  return out;
}

template <class T, class F>
Parsed<T> guarded(F&& f) {
  try {
    return f();
  } catch (const FieldError& e) {
    return e.error;
  } catch (const std::exception& e) {
    // nlohmann type errors from an unforeseen shape: still the client's fault.
    return bad_request(std::string("malformed request: ") + e.what());
  }
}

}  // namespace

Parsed<CompletionRequest> parse_completion_request(std::string_view body) {
  return guarded<CompletionRequest>([&] {
    const json j = parse_object(body);
    CompletionRequest r;
    r.gen = parse_generation(j, /*chat=*/false);
    Fields f(j);
    const json* p = f.get("prompt");
    if (!p) fail("'prompt' is required", "prompt");
    if (p->is_string()) {
      r.prompts.push_back({p->get<std::string>()});
    } else if (p->is_array()) {
      if (p->empty()) fail("'prompt' must not be empty", "prompt");
      if ((*p)[0].is_number()) {
        r.prompts.push_back({token_id_array(*p, "prompt")});
      } else {
        if (p->size() > size_t(ProtocolLimits::kMaxPrompts))
          fail("more than " + std::to_string(ProtocolLimits::kMaxPrompts) + " prompts", "prompt");
        for (size_t i = 0; i < p->size(); ++i) {
          const json& e = (*p)[i];
          const std::string param = "prompt[" + std::to_string(i) + "]";
          if (e.is_string())
            r.prompts.push_back({e.get<std::string>()});
          else if (e.is_array())
            r.prompts.push_back({token_id_array(e, param)});
          else
            wrong_type(param, e, "a string or an array of token ids");
        }
      }
    } else {
      wrong_type("prompt", *p, "a string, an array of strings or an array of token ids");
    }
    for (size_t i = 0; i < r.prompts.size(); ++i) {
      const auto* ids = std::get_if<std::vector<int32_t>>(&r.prompts[i].value);
      if (ids && ids->empty()) fail("'prompt' token arrays must not be empty", "prompt");
    }
    if (auto v = f.boolean("echo")) r.echo = *v;
    if (auto v = f.str("suffix"); v && !v->empty()) fail("'suffix' is not supported", "suffix");
    if (!r.gen.max_tokens) r.gen.max_tokens = 16;  // OpenAI's completions default
    return r;
  });
}

Parsed<ChatCompletionRequest> parse_chat_completion_request(std::string_view body) {
  return guarded<ChatCompletionRequest>([&] {
    const json j = parse_object(body);
    ChatCompletionRequest r;
    r.gen = parse_generation(j, /*chat=*/true);
    Fields f(j);
    const json* m = f.get("messages");
    if (!m) fail("'messages' is required", "messages");
    r.messages = parse_messages(*m);
    if (const json* t = f.get("tools")) r.tools = parse_tools(*t);
    r.tool_choice.mode =
        r.tools.is_null() || r.tools.empty() ? ToolChoice::Mode::kNone : ToolChoice::Mode::kAuto;
    if (const json* tc = f.get("tool_choice")) r.tool_choice = parse_tool_choice(*tc, r.tools);
    if (auto v = f.boolean("parallel_tool_calls")) r.parallel_tool_calls = *v;
    if ((r.tool_choice.mode == ToolChoice::Mode::kRequired ||
         r.tool_choice.mode == ToolChoice::Mode::kNamed) &&
        r.gen.constraint.kind != OutputConstraint::Kind::kNone) {
      fail("'" + r.gen.constraint.param + "' cannot be combined with a required tool_choice",
           r.gen.constraint.param);
    }
    if (auto v = f.boolean("add_generation_prompt")) r.add_generation_prompt = *v;
    if (auto v = f.boolean("continue_final_message")) r.continue_final_message = *v;
    if (r.add_generation_prompt && r.continue_final_message)
      fail("'continue_final_message' and 'add_generation_prompt' cannot both be true",
           "continue_final_message");
    if (const json* k = f.get("chat_template_kwargs")) {
      if (!k->is_object()) wrong_type("chat_template_kwargs", *k, "an object");
      r.chat_template_kwargs = nlohmann::ordered_json::parse(k->dump());
    }
    return r;
  });
}

Parsed<TokenizeRequest> parse_tokenize_request(std::string_view body) {
  return guarded<TokenizeRequest>([&] {
    const json j = parse_object(body);
    Fields f(j);
    TokenizeRequest r;
    if (auto v = f.str("model")) r.model = *v;
    r.prompt = f.str("prompt");
    if (const json* m = f.get("messages")) r.messages = parse_messages(*m);
    if (r.prompt.has_value() == !r.messages.is_null())
      fail("exactly one of 'prompt' and 'messages' is required", "prompt");
    if (auto v = f.boolean("add_special_tokens")) r.add_special_tokens = *v;
    if (auto v = f.boolean("add_generation_prompt")) r.add_generation_prompt = *v;
    return r;
  });
}

Parsed<DetokenizeRequest> parse_detokenize_request(std::string_view body) {
  return guarded<DetokenizeRequest>([&] {
    const json j = parse_object(body);
    Fields f(j);
    DetokenizeRequest r;
    if (auto v = f.str("model")) r.model = *v;
    const json* t = f.get("tokens");
    if (!t) fail("'tokens' is required", "tokens");
    r.tokens = token_id_array(*t, "tokens");
    return r;
  });
}

}  // namespace xy::server
