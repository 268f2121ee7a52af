// config.json / generation_config.json: architecture-specific semantics, transformers
// defaults for absent keys, random valid configs, and malformed inputs with precise errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace xy {
namespace {

using json = nlohmann::json;

json base_config(const std::string& arch) {
  return {{"architectures", {arch}}, {"hidden_size", 64},        {"intermediate_size", 96},
          {"num_hidden_layers", 3},  {"num_attention_heads", 8}, {"num_key_value_heads", 2},
          {"vocab_size", 100},       {"rms_norm_eps", 1e-5}};
}

Result<ModelConfig> parse(const json& j) {
  return parse_model_config(j.dump(), "cfg/config.json");
}

ModelConfig parse_ok(const json& j) {
  Result<ModelConfig> r = parse(j);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string() << "\n" << j.dump();
  return r.is_ok() ? *r : ModelConfig{};
}

void expect_error(const json& j, ErrorCode code, const std::vector<std::string>& needles) {
  Result<ModelConfig> r = parse(j);
  ASSERT_FALSE(r.is_ok()) << j.dump();
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  EXPECT_NE(r.status().message().find("cfg/config.json"), std::string::npos)
      << r.status().to_string();
  for (const std::string& n : needles) {
    EXPECT_NE(r.status().message().find(n), std::string::npos)
        << "'" << n << "' not in " << r.status().to_string();
  }
}

// transformers 4.51 defaults, per class, for a config with only the required keys.
TEST(ModelConfigSemantics, DefaultsPerArchitecture) {
  for (const char* arch :
       {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "MistralForCausalLM"}) {
    json j = base_config(arch);
    j.erase("num_key_value_heads");
    j.erase("rms_norm_eps");
    const ModelConfig c = parse_ok(j);
    EXPECT_EQ(c.architecture_name, arch);
    EXPECT_EQ(c.num_key_value_heads, 8) << arch;  // MHA
    EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f) << arch;
    EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-6f) << arch;
    EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::kNone);
    EXPECT_FALSE(c.tie_word_embeddings) << arch;
    EXPECT_EQ(c.torch_dtype, DType::kF32);
    EXPECT_TRUE(c.bos_token_ids.empty());
    EXPECT_TRUE(c.eos_token_ids.empty());
    EXPECT_FALSE(c.sliding_window.has_value());
  }
  EXPECT_EQ(parse_ok(base_config("LlamaForCausalLM")).head_dim, 8);
  EXPECT_EQ(parse_ok(base_config("Qwen2ForCausalLM")).head_dim, 8);
  EXPECT_EQ(parse_ok(base_config("MistralForCausalLM")).head_dim, 8);
  EXPECT_EQ(parse_ok(base_config("Qwen3ForCausalLM")).head_dim, 128);  // Qwen3Config default
  EXPECT_EQ(parse_ok(base_config("LlamaForCausalLM")).max_position_embeddings, 2048);
  // Without "architectures", model_type decides.
  json j = base_config("x");
  j.erase("architectures");
  j["model_type"] = "qwen2";
  EXPECT_EQ(parse_ok(j).arch, Architecture::kQwen2);
}

TEST(ModelConfigSemantics, Biases) {
  json llama = base_config("LlamaForCausalLM");
  llama["attention_bias"] = true;
  llama["mlp_bias"] = true;
  ModelConfig c = parse_ok(llama);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(c.o_proj_bias);  // Llama's attention_bias covers o_proj too
  EXPECT_TRUE(c.mlp_bias);

  json qwen2 = base_config("Qwen2ForCausalLM");
  qwen2["attention_bias"] = false;  // not a Qwen2 key: q/k/v are always biased
  c = parse_ok(qwen2);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.o_proj_bias);
  EXPECT_FALSE(c.qk_norm);

  json qwen3 = base_config("Qwen3ForCausalLM");
  qwen3["head_dim"] = 16;
  qwen3["attention_bias"] = true;
  c = parse_ok(qwen3);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(c.o_proj_bias);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.q_size(), 128);

  json mistral = base_config("MistralForCausalLM");
  mistral["attention_bias"] = true;  // MistralAttention has no biases
  c = parse_ok(mistral);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.o_proj_bias);
}

TEST(ModelConfigSemantics, SlidingWindow) {
  json m = base_config("MistralForCausalLM");
  m["sliding_window"] = 4096;
  EXPECT_EQ(parse_ok(m).sliding_window, 4096);
  m["sliding_window"] = nullptr;
  EXPECT_FALSE(parse_ok(m).sliding_window.has_value());

  json q = base_config("Qwen2ForCausalLM");
  q["sliding_window"] = 512;
  q["use_sliding_window"] = false;
  EXPECT_FALSE(parse_ok(q).sliding_window.has_value());
  q["use_sliding_window"] = true;
  q["max_window_layers"] = 0;  // every layer slides
  EXPECT_EQ(parse_ok(q).sliding_window, 512);
  q["max_window_layers"] = 3;  // == num_hidden_layers: none slides
  EXPECT_FALSE(parse_ok(q).sliding_window.has_value());
  q["max_window_layers"] = 1;  // layers 1, 2 slide, layer 0 does not
  expect_error(q, ErrorCode::kUnsupported, {"max_window_layers", "(1 of 3)"});
  q["max_window_layers"] = 0;
  q["sliding_window"] = nullptr;
  EXPECT_FALSE(parse_ok(q).sliding_window.has_value());

  json l = base_config("LlamaForCausalLM");
  l["sliding_window"] = 128;  // Llama has no sliding window
  EXPECT_FALSE(parse_ok(l).sliding_window.has_value());
}

TEST(ModelConfigSemantics, RopeScalingAndDtypeAndTokenIds) {
  json j = base_config("LlamaForCausalLM");
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.5}};  // pre-4.45 key name
  ModelConfig c = parse_ok(j);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::kLinear);
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 2.5f);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(parse_ok(j).rope_scaling.type, RopeScaling::Type::kNone);
  j["rope_scaling"] = {{"rope_type", "llama3"},
                       {"factor", 32.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  c = parse_ok(j);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::kLlama3);
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 32.0f);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);

  j["torch_dtype"] = "bfloat16";
  EXPECT_EQ(parse_ok(j).torch_dtype, DType::kBF16);
  j.erase("torch_dtype");
  j["dtype"] = "float16";
  EXPECT_EQ(parse_ok(j).torch_dtype, DType::kF16);

  j["bos_token_id"] = nullptr;
  j["eos_token_id"] = {128001, 128008, 128009};
  c = parse_ok(j);
  EXPECT_TRUE(c.bos_token_ids.empty());
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{128001, 128008, 128009}));
}

// Random valid configs: every value written is the value read (the JSON built here by
// nlohmann is the reference).
TEST(ModelConfigSemantics, RandomConfigsRoundTrip) {
  std::mt19937 rng(1234);
  const char* archs[] = {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
                         "MistralForCausalLM"};
  for (int trial = 0; trial < 200; ++trial) {
    const int kv = 1 + static_cast<int>(rng() % 8);
    const int heads = kv * (1 + static_cast<int>(rng() % 6));
    const int head_dim = 2 * (1 + static_cast<int>(rng() % 80));
    const std::string arch = archs[rng() % 4];
    json j = {{"architectures", {arch}},
              {"hidden_size", heads * head_dim},
              {"intermediate_size", 1 + static_cast<int>(rng() % 5000)},
              {"num_hidden_layers", 1 + static_cast<int>(rng() % 100)},
              {"num_attention_heads", heads},
              {"num_key_value_heads", kv},
              {"vocab_size", 1 + static_cast<int>(rng() % 200000)},
              {"max_position_embeddings", 1 + static_cast<int>(rng() % 1000000)},
              {"rms_norm_eps", std::ldexp(1.0, -static_cast<int>(5 + rng() % 20))},
              {"rope_theta", 1000.0 * (1 + rng() % 1000)},
              {"tie_word_embeddings", rng() % 2 == 0},
              {"bos_token_id", static_cast<int>(rng() % 1000)},
              {"eos_token_id", {static_cast<int>(rng() % 1000), static_cast<int>(rng() % 1000)}}};
    if (rng() % 2) j["head_dim"] = head_dim;
    const ModelConfig c = parse_ok(j);
    EXPECT_EQ(c.architecture_name, arch);
    EXPECT_EQ(c.hidden_size, j["hidden_size"].get<int>());
    EXPECT_EQ(c.intermediate_size, j["intermediate_size"].get<int>());
    EXPECT_EQ(c.num_hidden_layers, j["num_hidden_layers"].get<int>());
    EXPECT_EQ(c.num_attention_heads, heads);
    EXPECT_EQ(c.num_key_value_heads, kv);
    EXPECT_EQ(c.gqa_group(), heads / kv);
    // Qwen3 without head_dim takes 128, everyone else hidden / heads == head_dim.
    EXPECT_EQ(c.head_dim, (arch == archs[2] && !j.contains("head_dim")) ? 128 : head_dim);
    EXPECT_EQ(c.vocab_size, j["vocab_size"].get<int>());
    EXPECT_EQ(c.max_position_embeddings, j["max_position_embeddings"].get<int>());
    EXPECT_EQ(c.rms_norm_eps, static_cast<float>(j["rms_norm_eps"].get<double>()));
    EXPECT_EQ(c.rope_theta, static_cast<float>(j["rope_theta"].get<double>()));
    EXPECT_EQ(c.tie_word_embeddings, j["tie_word_embeddings"].get<bool>());
    EXPECT_EQ(c.bos_token_ids, std::vector<int>{j["bos_token_id"].get<int>()});
    EXPECT_EQ(c.eos_token_ids, j["eos_token_id"].get<std::vector<int>>());
  }
}

TEST(ModelConfigErrors, Table) {
  const json llama = base_config("LlamaForCausalLM");
  auto with = [&](const std::string& key, const json& v) {
    json j = llama;
    j[key] = v;
    return j;
  };
  auto without = [&](const std::string& key) {
    json j = llama;
    j.erase(key);
    return j;
  };
  expect_error(with("architectures", {"GPT2LMHeadModel"}), ErrorCode::kUnsupported,
               {"architecture 'GPT2LMHeadModel' is not supported (supported: LlamaForCausalLM, "
                "Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM)"});
  expect_error(with("architectures", json::array()), ErrorCode::kFormatError, {"'architectures'"});
  expect_error(with("architectures", "LlamaForCausalLM"), ErrorCode::kFormatError,
               {"'architectures'", "list of strings"});
  json no_arch = without("architectures");
  expect_error(no_arch, ErrorCode::kFormatError, {"missing required key 'architectures'"});
  no_arch["model_type"] = "gemma";
  expect_error(no_arch, ErrorCode::kUnsupported, {"'model_type gemma' is not supported"});
  for (const char* type : {"yarn", "dynamic", "longrope", "su"}) {
    expect_error(with("rope_scaling", {{"rope_type", type}, {"factor", 4.0}}),
                 ErrorCode::kUnsupported,
                 {std::string("rope_scaling type '") + type + "' is not supported"});
  }
  expect_error(with("rope_scaling", {{"type", "yarn"}, {"factor", 4.0}}), ErrorCode::kUnsupported,
               {"'yarn'"});
  expect_error(with("rope_scaling", {{"factor", 4.0}}), ErrorCode::kFormatError, {"rope_type"});
  expect_error(with("rope_scaling", "llama3"), ErrorCode::kFormatError, {"'rope_scaling'"});
  expect_error(with("rope_scaling", {{"rope_type", "linear"}}), ErrorCode::kFormatError,
               {"rope_scaling.factor"});
  expect_error(with("rope_scaling", {{"rope_type", "linear"}, {"factor", -1.0}}),
               ErrorCode::kFormatError, {"factor", "positive"});
  expect_error(with("rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}}),
               ErrorCode::kFormatError, {"rope_scaling.low_freq_factor"});
  for (const char* key : {"hidden_size", "vocab_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads"}) {
    expect_error(without(key), ErrorCode::kFormatError,
                 {std::string("missing required key '") + key + "'"});
    expect_error(with(key, "64"), ErrorCode::kFormatError,
                 {std::string("key '") + key + "' must be an integer, got string \"64\""});
    expect_error(with(key, 64.5), ErrorCode::kFormatError, {key, "must be an integer"});
    expect_error(with(key, 0), ErrorCode::kFormatError, {key, "must be positive"});
    expect_error(with(key, -8), ErrorCode::kFormatError, {key, "must be positive"});
    expect_error(with(key, 1e12), ErrorCode::kFormatError, {key});
    expect_error(with(key, int64_t{1} << 40), ErrorCode::kFormatError, {key, "out of range"});
  }
  expect_error(with("num_key_value_heads", 3), ErrorCode::kFormatError,
               {"'num_key_value_heads'", "(3) must divide num_attention_heads (8)"});
  expect_error(with("num_key_value_heads", 0), ErrorCode::kFormatError, {"'num_key_value_heads'"});
  expect_error(with("hidden_size", 60), ErrorCode::kFormatError,
               {"'hidden_size'", "divisible by num_attention_heads"});
  expect_error(with("head_dim", 7), ErrorCode::kFormatError, {"'head_dim'", "even"});
  expect_error(with("head_dim", -2), ErrorCode::kFormatError, {"'head_dim'"});
  expect_error(with("rms_norm_eps", "1e-5"), ErrorCode::kFormatError,
               {"'rms_norm_eps' must be a number"});
  expect_error(with("rms_norm_eps", 0), ErrorCode::kFormatError, {"'rms_norm_eps'", "positive"});
  expect_error(with("rope_theta", -1.0), ErrorCode::kFormatError, {"'rope_theta'"});
  expect_error(with("rope_theta", 1e300), ErrorCode::kFormatError, {"'rope_theta'", "range"});
  expect_error(with("tie_word_embeddings", 1), ErrorCode::kFormatError,
               {"'tie_word_embeddings' must be true or false"});
  expect_error(with("torch_dtype", "float64"), ErrorCode::kUnsupported,
               {"torch_dtype 'float64' is not supported"});
  expect_error(with("torch_dtype", 32), ErrorCode::kFormatError, {"'torch_dtype'"});
  expect_error(with("eos_token_id", "2"), ErrorCode::kFormatError, {"'eos_token_id'"});
  expect_error(with("eos_token_id", {1, "x"}), ErrorCode::kFormatError, {"'eos_token_id'"});
  expect_error(with("bos_token_id", -1), ErrorCode::kFormatError, {"'bos_token_id'", "negative"});
  expect_error(with("max_position_embeddings", 0), ErrorCode::kFormatError,
               {"'max_position_embeddings'"});
  json mistral = base_config("MistralForCausalLM");
  mistral["sliding_window"] = 0;
  expect_error(mistral, ErrorCode::kFormatError, {"'sliding_window'"});
  mistral["sliding_window"] = "4096";
  expect_error(mistral, ErrorCode::kFormatError, {"'sliding_window'"});

  for (const char* text : {"", "{", "[1, 2]", "null", "{\"hidden_size\": 1,}"}) {
    Result<ModelConfig> r = parse_model_config(text, "cfg/config.json");
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.status().code(), ErrorCode::kFormatError) << text;
    EXPECT_NE(r.status().message().find("cfg/config.json"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// Loading from a directory.

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = (std::filesystem::temp_directory_path() /
             (std::string("xy_io_cfg_") + info->name() + "_" + std::to_string(::getpid())))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name) << text;
  }

 private:
  std::string path_;
};

TEST(ModelConfigLoad, MissingFileIsNotFound) {
  TempDir dir;
  Result<ModelConfig> r = load_model_config(dir.path());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.status().message().find(dir.path() + "/config.json"), std::string::npos);
  // A missing generation_config.json is fine: no defaults.
  Result<GenerationDefaults> g = load_generation_defaults(dir.path());
  ASSERT_TRUE(g.is_ok());
  EXPECT_FALSE(g->temperature.has_value());
  EXPECT_TRUE(g->eos_token_ids.empty());
  EXPECT_FALSE(g->bos_token_id.has_value());
}

TEST(ModelConfigLoad, ErrorsNameThePath) {
  TempDir dir;
  dir.write("config.json", base_config("LlamaForCausalLM").dump().substr(5));
  Result<ModelConfig> r = load_model_config(dir.path());
  EXPECT_EQ(r.status().code(), ErrorCode::kFormatError);
  EXPECT_NE(r.status().message().find(dir.path() + "/config.json"), std::string::npos);
}

TEST(GenerationDefaults, AllFields) {
  TempDir dir;
  dir.write("generation_config.json", R"({"temperature": 0.6, "top_p": 0.9, "top_k": 20,
      "min_p": 0.05, "repetition_penalty": 1.1, "do_sample": true, "max_new_tokens": 256,
      "eos_token_id": [151645, 151643], "bos_token_id": 151643, "pad_token_id": 151643,
      "transformers_version": "4.51.3"})");
  Result<GenerationDefaults> g = load_generation_defaults(dir.path());
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_FLOAT_EQ(*g->temperature, 0.6f);
  EXPECT_FLOAT_EQ(*g->top_p, 0.9f);
  EXPECT_EQ(*g->top_k, 20);
  EXPECT_FLOAT_EQ(*g->min_p, 0.05f);
  EXPECT_FLOAT_EQ(*g->repetition_penalty, 1.1f);
  EXPECT_EQ(*g->do_sample, true);
  EXPECT_EQ(*g->max_new_tokens, 256);
  EXPECT_EQ(g->eos_token_ids, (std::vector<int>{151645, 151643}));
  EXPECT_EQ(*g->bos_token_id, 151643);

  dir.write("generation_config.json", R"({"temperature": null, "eos_token_id": 7})");
  g = load_generation_defaults(dir.path());
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_FALSE(g->temperature.has_value());
  EXPECT_EQ(g->eos_token_ids, std::vector<int>{7});
}

TEST(GenerationDefaults, Errors) {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"{", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"temperature": "hot"})", "'temperature' must be a number"},
      {R"({"temperature": -1})", "'temperature' must not be negative"},
      {R"({"top_k": 2.5})", "'top_k' must be an integer"},
      {R"({"do_sample": "yes"})", "'do_sample' must be true or false"},
      {R"({"max_new_tokens": -5})", "'max_new_tokens'"},
      {R"({"eos_token_id": {"a": 1}})", "'eos_token_id'"},
      {R"({"bos_token_id": [1, 2]})", "'bos_token_id' must be a single token id"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    dir.write("generation_config.json", c.text);
    Result<GenerationDefaults> g = load_generation_defaults(dir.path());
    ASSERT_FALSE(g.is_ok()) << c.text;
    EXPECT_EQ(g.status().code(), ErrorCode::kFormatError) << c.text;
    EXPECT_NE(g.status().message().find(c.needle), std::string::npos) << g.status().to_string();
    EXPECT_NE(g.status().message().find("generation_config.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace xy
