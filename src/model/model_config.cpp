// config.json / generation_config.json of Llama-family checkpoints, with the defaults of the
// transformers 4.51 config classes where a key is absent. Every error names the file and key.
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "model/model_config.h"

namespace xy {

namespace {

using json = nlohmann::json;

std::string describe(const json& v) {
  return std::string(v.type_name()) + " " + v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Typed access to the keys of one JSON object; "absent" and null are the same (transformers
// writes null for unset optional fields).
class ConfigReader {
 public:
  ConfigReader(const json& obj, std::string file) : obj_(obj), file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  Status error(const std::string& key, const std::string& what) const {
    return format_error(file_ + ": key '" + key + "' " + what);
  }

  const json* get(const std::string& key) const {
    const auto it = obj_.find(key);
    return (it == obj_.end() || it->is_null()) ? nullptr : &*it;
  }

  Result<int> integer(const std::string& key, int fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    return integer_value(key, *v);
  }
  Result<int> required_positive(const std::string& key) const {
    const json* v = get(key);
    if (v == nullptr) return format_error(file_ + ": missing required key '" + key + "'");
    XY_ASSIGN_OR_RETURN(const int i, integer_value(key, *v));
    if (i <= 0) return error(key, "must be positive, got " + std::to_string(i));
    return i;
  }
  Result<int> integer_value(const std::string& key, const json& v) const {
    if (!v.is_number_integer()) return error(key, "must be an integer, got " + describe(v));
    const int64_t i = v.is_number_unsigned()
                          ? static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX))
                          : v.get<int64_t>();
    if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) {
      return error(key, "is out of range: " + v.dump());
    }
    return static_cast<int>(i);
  }
  Result<float> number(const std::string& key, float fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) return error(key, "must be a number, got " + describe(*v));
    const double d = v->get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
      return error(key, "is out of range: " + v->dump());
    }
    return static_cast<float>(d);
  }
  Result<float> positive_number(const std::string& key, float fallback) const {
    XY_ASSIGN_OR_RETURN(const float f, number(key, fallback));
    if (!(f > 0.0f)) return error(key, "must be positive, got " + std::to_string(f));
    return f;
  }
  Result<bool> boolean(const std::string& key, bool fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) return error(key, "must be true or false, got " + describe(*v));
    return v->get<bool>();
  }
  // A token id or a list of them (eos_token_id is often a list); absent/null: empty.
  Result<std::vector<int>> token_ids(const std::string& key) const {
    const json* v = get(key);
    std::vector<int> out;
    if (v == nullptr) return out;
    if (v->is_array()) {
      for (const json& e : *v) {
        XY_ASSIGN_OR_RETURN(const int id, token_id(key, e));
        out.push_back(id);
      }
      return out;
    }
    XY_ASSIGN_OR_RETURN(const int id, token_id(key, *v));
    out.push_back(id);
    return out;
  }

 private:
  Result<int> token_id(const std::string& key, const json& v) const {
    if (!v.is_number_integer()) {
      return error(key, "must be a token id or a list of token ids, got " + describe(v));
    }
    XY_ASSIGN_OR_RETURN(const int id, integer_value(key, v));
    if (id < 0) return error(key, "must not be negative, got " + std::to_string(id));
    return id;
  }

  const json& obj_;
  std::string file_;
};

Result<json> parse_json_object(const std::string& text, const std::string& file) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return format_error(file + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) return format_error(file + ": must be a JSON object, got " + j.type_name());
  return j;
}

Result<std::string> read_text(const std::string& path) {
  XY_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> f, MappedFile::open(path));
  return std::string(reinterpret_cast<const char*>(f->data()), f->size());
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

struct ArchInfo {
  const char* class_name;
  const char* model_type;
  Architecture arch;
  int default_max_positions;  // transformers default of max_position_embeddings
};
constexpr ArchInfo kArchs[] = {
    {"LlamaForCausalLM", "llama", Architecture::kLlama, 2048},
    {"Qwen2ForCausalLM", "qwen2", Architecture::kQwen2, 32768},
    {"Qwen3ForCausalLM", "qwen3", Architecture::kQwen3, 32768},
    {"MistralForCausalLM", "mistral", Architecture::kMistral, 131072},
};

std::string supported_arch_list() {
  std::string s;
  for (const ArchInfo& a : kArchs) s += (s.empty() ? "" : ", ") + std::string(a.class_name);
  return s;
}

// architectures[0] names the class; without it, model_type decides (older exports).
Result<const ArchInfo*> find_arch(const ConfigReader& r) {
  std::string name;
  if (const json* archs = r.get("architectures")) {
    if (!archs->is_array() || archs->empty() || !(*archs)[0].is_string()) {
      return r.error("architectures",
                     "must be a non-empty list of strings, got " + describe(*archs));
    }
    name = (*archs)[0].get<std::string>();
    for (const ArchInfo& a : kArchs) {
      if (name == a.class_name) return &a;
    }
  } else if (const json* type = r.get("model_type")) {
    if (!type->is_string())
      return r.error("model_type", "must be a string, got " + describe(*type));
    for (const ArchInfo& a : kArchs) {
      if (type->get<std::string>() == a.model_type) return &a;
    }
    name = "model_type " + type->get<std::string>();
  } else {
    return format_error(r.file() + ": missing required key 'architectures'");
  }
  return unsupported(r.file() + ": architecture '" + name +
                     "' is not supported (supported: " + supported_arch_list() + ")");
}

Result<RopeScaling> parse_rope_scaling(const ConfigReader& r) {
  RopeScaling rs;
  const json* v = r.get("rope_scaling");
  if (v == nullptr) return rs;
  if (!v->is_object())
    return r.error("rope_scaling", "must be an object or null, got " + describe(*v));
  const ConfigReader sub(*v, r.file());
  // transformers >= 4.45 writes "rope_type"; older checkpoints "type".
  const json* type = sub.get("rope_type");
  std::string key = "rope_scaling.rope_type";
  if (type == nullptr) {
    type = sub.get("type");
    key = "rope_scaling.type";
  }
  if (type == nullptr) return format_error(r.file() + ": key 'rope_scaling' has no 'rope_type'");
  if (!type->is_string()) return r.error(key, "must be a string, got " + describe(*type));
  const std::string& t = type->get_ref<const std::string&>();
  auto need = [&](const std::string& k) -> Result<float> {
    if (sub.get(k) == nullptr) {
      return format_error(r.file() + ": rope_scaling type '" + t + "' needs key 'rope_scaling." +
                          k + "'");
    }
    return ConfigReader(*v, r.file()).positive_number(k, 1.0f);
  };
  if (t == "default") return rs;
  if (t == "linear") {
    rs.type = RopeScaling::Type::kLinear;
    XY_ASSIGN_OR_RETURN(rs.factor, need("factor"));
    return rs;
  }
  if (t == "llama3") {
    rs.type = RopeScaling::Type::kLlama3;
    XY_ASSIGN_OR_RETURN(rs.factor, need("factor"));
    XY_ASSIGN_OR_RETURN(rs.low_freq_factor, need("low_freq_factor"));
    XY_ASSIGN_OR_RETURN(rs.high_freq_factor, need("high_freq_factor"));
    if (sub.get("original_max_position_embeddings") == nullptr) {
      return format_error(r.file() +
                          ": rope_scaling type 'llama3' needs key "
                          "'rope_scaling.original_max_position_embeddings'");
    }
    XY_ASSIGN_OR_RETURN(rs.original_max_position_embeddings,
                        sub.integer("original_max_position_embeddings", 0));
    if (rs.original_max_position_embeddings <= 0) {
      return r.error("rope_scaling.original_max_position_embeddings", "must be positive");
    }
    if (!(rs.high_freq_factor > rs.low_freq_factor)) {
      return r.error("rope_scaling.high_freq_factor", "must be greater than low_freq_factor");
    }
    return rs;
  }
  return unsupported(r.file() + ": rope_scaling type '" + t +
                     "' is not supported (supported: default, linear, llama3)");
}

Result<DType> parse_torch_dtype(const ConfigReader& r) {
  std::string key = "torch_dtype";
  const json* v = r.get(key);
  if (v == nullptr) {  // transformers >= 4.56 writes "dtype"
    key = "dtype";
    v = r.get(key);
  }
  if (v == nullptr) return DType::kF32;
  if (!v->is_string()) return r.error(key, "must be a string, got " + describe(*v));
  const std::string& s = v->get_ref<const std::string&>();
  if (s == "float32") return DType::kF32;
  if (s == "float16") return DType::kF16;
  if (s == "bfloat16") return DType::kBF16;
  return unsupported(r.file() + ": " + key + " '" + s +
                     "' is not supported (supported: float32, float16, bfloat16)");
}

// Mistral: a non-null sliding_window applies to every layer. Qwen2/Qwen3: only with
// use_sliding_window, and only for layers >= max_window_layers (transformers 4.51), which a
// single window per model can express only when that is all layers or none.
Status parse_sliding_window(const ConfigReader& r, ModelConfig* c) {
  if (c->arch == Architecture::kLlama) return Status::ok();
  const json* sw = r.get("sliding_window");
  if (sw == nullptr) return Status::ok();
  XY_ASSIGN_OR_RETURN(const int window, r.integer_value("sliding_window", *sw));
  if (window <= 0) return r.error("sliding_window", "must be positive or null");
  if (c->arch == Architecture::kMistral) {
    c->sliding_window = window;
    return Status::ok();
  }
  XY_ASSIGN_OR_RETURN(const bool use, r.boolean("use_sliding_window", false));
  if (!use) return Status::ok();
  XY_ASSIGN_OR_RETURN(const int max_window_layers, r.integer("max_window_layers", 28));
  if (max_window_layers >= c->num_hidden_layers) return Status::ok();  // no layer slides
  if (max_window_layers > 0) {
    return unsupported(r.file() + ": sliding window on only layers >= max_window_layers (" +
                       std::to_string(max_window_layers) + " of " +
                       std::to_string(c->num_hidden_layers) + ") is not supported");
  }
  c->sliding_window = window;
  return Status::ok();
}

}  // namespace

Result<ModelConfig> parse_model_config(const std::string& json_text, const std::string& file_name) {
  XY_ASSIGN_OR_RETURN(const json root, parse_json_object(json_text, file_name));
  const ConfigReader r(root, file_name);
  ModelConfig c;
  XY_ASSIGN_OR_RETURN(const ArchInfo* arch, find_arch(r));
  c.arch = arch->arch;
  c.architecture_name = arch->class_name;

  XY_ASSIGN_OR_RETURN(c.vocab_size, r.required_positive("vocab_size"));
  XY_ASSIGN_OR_RETURN(c.hidden_size, r.required_positive("hidden_size"));
  XY_ASSIGN_OR_RETURN(c.intermediate_size, r.required_positive("intermediate_size"));
  XY_ASSIGN_OR_RETURN(c.num_hidden_layers, r.required_positive("num_hidden_layers"));
  XY_ASSIGN_OR_RETURN(c.num_attention_heads, r.required_positive("num_attention_heads"));
  XY_ASSIGN_OR_RETURN(c.num_key_value_heads,
                      r.integer("num_key_value_heads", c.num_attention_heads));
  if (c.num_key_value_heads <= 0) return r.error("num_key_value_heads", "must be positive");
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return r.error("num_key_value_heads", "(" + std::to_string(c.num_key_value_heads) +
                                              ") must divide num_attention_heads (" +
                                              std::to_string(c.num_attention_heads) + ")");
  }
  // Qwen3Config defaults head_dim to 128; the others derive it from hidden_size.
  const bool derive_head_dim = r.get("head_dim") == nullptr && c.arch != Architecture::kQwen3;
  if (derive_head_dim) {
    if (c.hidden_size % c.num_attention_heads != 0) {
      return r.error("hidden_size", "(" + std::to_string(c.hidden_size) +
                                        ") must be divisible by num_attention_heads (" +
                                        std::to_string(c.num_attention_heads) +
                                        ") when head_dim is absent");
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
  } else {
    XY_ASSIGN_OR_RETURN(c.head_dim, r.integer("head_dim", 128));
    if (c.head_dim <= 0) return r.error("head_dim", "must be positive");
  }
  if (c.head_dim % 2 != 0) {
    return r.error("head_dim",
                   "must be even for rotary embeddings, got " + std::to_string(c.head_dim));
  }
  XY_ASSIGN_OR_RETURN(c.max_position_embeddings,
                      r.integer("max_position_embeddings", arch->default_max_positions));
  if (c.max_position_embeddings <= 0) return r.error("max_position_embeddings", "must be positive");
  XY_ASSIGN_OR_RETURN(c.rms_norm_eps, r.positive_number("rms_norm_eps", 1e-6f));
  XY_ASSIGN_OR_RETURN(c.rope_theta, r.positive_number("rope_theta", 10000.0f));
  XY_ASSIGN_OR_RETURN(c.rope_scaling, parse_rope_scaling(r));
  XY_ASSIGN_OR_RETURN(c.tie_word_embeddings, r.boolean("tie_word_embeddings", false));

  switch (c.arch) {
    case Architecture::kLlama: {  // attention_bias: q, k, v and o
      XY_ASSIGN_OR_RETURN(c.attention_bias, r.boolean("attention_bias", false));
      c.o_proj_bias = c.attention_bias;
      XY_ASSIGN_OR_RETURN(c.mlp_bias, r.boolean("mlp_bias", false));
      break;
    }
    case Architecture::kQwen2:  // q, k, v always biased, o never
      c.attention_bias = true;
      c.o_proj_bias = false;
      break;
    case Architecture::kQwen3: {  // attention_bias covers q, k, v and o; q/k RMSNorm always
      XY_ASSIGN_OR_RETURN(c.attention_bias, r.boolean("attention_bias", false));
      c.o_proj_bias = c.attention_bias;
      c.qk_norm = true;
      break;
    }
    case Architecture::kMistral:  // no biases anywhere
      break;
  }
  XY_RETURN_IF_ERROR(parse_sliding_window(r, &c));
  XY_ASSIGN_OR_RETURN(c.torch_dtype, parse_torch_dtype(r));
  XY_ASSIGN_OR_RETURN(c.bos_token_ids, r.token_ids("bos_token_id"));
  XY_ASSIGN_OR_RETURN(c.eos_token_ids, r.token_ids("eos_token_id"));
  return c;
}

Result<ModelConfig> load_model_config(const std::string& model_dir) {
  const std::string path = join_path(model_dir, "config.json");
  XY_ASSIGN_OR_RETURN(const std::string text, read_text(path));
  return parse_model_config(text, path);
}

Result<GenerationDefaults> load_generation_defaults(const std::string& model_dir) {
  const std::string path = join_path(model_dir, "generation_config.json");
  Result<std::string> text = read_text(path);
  if (!text.is_ok()) {
    if (text.status().code() == ErrorCode::kNotFound) return GenerationDefaults{};
    return text.status();
  }
  XY_ASSIGN_OR_RETURN(const json root, parse_json_object(*text, path));
  const ConfigReader r(root, path);
  GenerationDefaults g;
  auto opt_number = [&](const char* key, std::optional<float>* out) -> Status {
    if (r.get(key) == nullptr) return Status::ok();
    XY_ASSIGN_OR_RETURN(*out, r.number(key, 0.0f));
    if (**out < 0.0f) return r.error(key, "must not be negative");
    return Status::ok();
  };
  auto opt_int = [&](const char* key, std::optional<int>* out) -> Status {
    if (r.get(key) == nullptr) return Status::ok();
    XY_ASSIGN_OR_RETURN(*out, r.integer(key, 0));
    if (**out < 0) return r.error(key, "must not be negative");
    return Status::ok();
  };
  XY_RETURN_IF_ERROR(opt_number("temperature", &g.temperature));
  XY_RETURN_IF_ERROR(opt_number("top_p", &g.top_p));
  XY_RETURN_IF_ERROR(opt_int("top_k", &g.top_k));
  XY_RETURN_IF_ERROR(opt_number("min_p", &g.min_p));
  XY_RETURN_IF_ERROR(opt_number("repetition_penalty", &g.repetition_penalty));
  if (r.get("do_sample") != nullptr) {
    XY_ASSIGN_OR_RETURN(g.do_sample, r.boolean("do_sample", false));
  }
  XY_RETURN_IF_ERROR(opt_int("max_new_tokens", &g.max_new_tokens));
  XY_ASSIGN_OR_RETURN(g.eos_token_ids, r.token_ids("eos_token_id"));
  XY_ASSIGN_OR_RETURN(const std::vector<int> bos, r.token_ids("bos_token_id"));
  if (bos.size() > 1) return r.error("bos_token_id", "must be a single token id");
  if (!bos.empty()) g.bos_token_id = bos[0];
  return g;
}

}  // namespace xy
