#include "model/gguf/gguf_tokenizer.h"

#include <nlohmann/json.hpp>

namespace xy::gguf {
namespace {

// Unordered: ids are explicit, and nlohmann's ordered map looks keys up linearly (quadratic for
// a 150k-token vocabulary).
using json = nlohmann::json;

// Token types as GGUF numbers them.
constexpr int kNormal = 1, kControl = 3, kUserDefined = 4;

// The pre-tokenizer regexes as Hugging Face's tokenizer.json files write them, by the name
// llama.cpp's converter stores in tokenizer.ggml.pre.
struct PreTokenizer {
  const char* name;
  const char* regex;  // nullptr: ByteLevel's own (GPT-2) regex
  bool ignore_merges;
};
constexpr const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// The first name of each regex is the one the writer uses; the others are llama.cpp's aliases.
// llama.cpp's "default" is its own fallback (several regexes, not a tokenizer.json one), so it
// is refused rather than guessed.
constexpr PreTokenizer kPreTokenizers[] = {
    {"llama-bpe", kLlama3Regex, true},        {"llama3", kLlama3Regex, true},
    {"llama-v3", kLlama3Regex, true},         {"dbrx", kLlama3Regex, false},
    {"smaug-bpe", kLlama3Regex, false},       {"qwen2", kQwen2Regex, false},
    {"deepseek-r1-qwen", kQwen2Regex, false}, {"gpt-2", nullptr, false},
};

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", false},
          {"use_regex", use_regex}};
}

Status tokenizer_error(const std::string& source, const std::string& what) {
  return format_error(source + ": tokenizer metadata: " + what);
}

// The Split regex of a tokenizer.json pre_tokenizer, "" for ByteLevel's own; nullopt when the
// pre-tokenizer is some other construction.
std::optional<std::string> split_regex(const json& pre) {
  if (!pre.is_object()) return std::nullopt;
  const std::string type = pre.value("type", "");
  if (type == "ByteLevel") {
    return pre.value("use_regex", true) ? std::optional<std::string>("") : std::nullopt;
  }
  if (type != "Sequence" || !pre.contains("pretokenizers")) return std::nullopt;
  const json& list = pre["pretokenizers"];
  if (list.size() != 2 || list[0].value("type", "") != "Split" ||
      list[1].value("type", "") != "ByteLevel" || list[1].value("use_regex", true)) {
    return std::nullopt;
  }
  const json& pattern = list[0].value("pattern", json::object());
  if (!pattern.contains("Regex") || !pattern["Regex"].is_string()) return std::nullopt;
  return pattern["Regex"].get<std::string>();
}

}  // namespace

static Result<TokenizerFiles> tokenizer_files_unchecked(const File& f, const std::string& source) {
  Result<std::string> model = f.get_string("tokenizer.ggml.model");
  if (!model.is_ok()) return tokenizer_error(source, model.status().message());
  if (*model != "gpt2") {
    return unsupported(source + ": tokenizer model '" + *model +
                       "' (only byte-level BPE, 'gpt2', is supported in GGUF files yet)");
  }
  std::string pre_name = "(none)";
  if (f.find("tokenizer.ggml.pre")) {
    Result<std::string> p = f.get_string("tokenizer.ggml.pre");
    if (!p.is_ok()) return tokenizer_error(source, p.status().message());
    pre_name = *p;
  }
  const PreTokenizer* pre = nullptr;
  for (const PreTokenizer& p : kPreTokenizers)
    if (pre_name == p.name) pre = &p;
  if (!pre) {
    return unsupported(source + ": pre-tokenizer '" + pre_name +
                       "' (supported: llama-bpe/llama3/llama-v3, dbrx, smaug-bpe, "
                       "qwen2/deepseek-r1-qwen, gpt-2)");
  }
  const Value* tokens = f.find("tokenizer.ggml.tokens");
  if (!tokens || tokens->type != ValueType::kArray || tokens->array_type != ValueType::kString) {
    return tokenizer_error(source, "tokenizer.ggml.tokens must be an array of strings");
  }
  const Value* types = f.find("tokenizer.ggml.token_type");
  if (types && (types->type != ValueType::kArray || types->ints.size() != tokens->strings.size())) {
    return tokenizer_error(source, "tokenizer.ggml.token_type must be one integer per token");
  }
  const Value* merges = f.find("tokenizer.ggml.merges");
  if (merges && (merges->type != ValueType::kArray || merges->array_type != ValueType::kString)) {
    return tokenizer_error(source, "tokenizer.ggml.merges must be an array of strings");
  }

  json vocab = json::object();
  json added = json::array();
  for (size_t id = 0; id < tokens->strings.size(); ++id) {
    const std::string& t = tokens->strings[id];
    const int type = types ? int(types->ints[id]) : kNormal;
    if (type == kControl || type == kUserDefined) {
      added.push_back({{"id", id},
                       {"content", t},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", type == kControl}});
    }
    if (!vocab.contains(t)) vocab[t] = id;  // a duplicate keeps its first id, as HF does
  }
  json pre_tokenizer =
      pre->regex ? json{{"type", "Sequence"},
                        {"pretokenizers", json::array({{{"type", "Split"},
                                                        {"pattern", {{"Regex", pre->regex}}},
                                                        {"behavior", "Isolated"},
                                                        {"invert", false}},
                                                       byte_level(false)})}}
                 : byte_level(true);
  json tok = {{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer", pre_tokenizer},
              {"post_processor", byte_level(false)},
              {"decoder", byte_level(false)},
              {"model",
               {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", pre->ignore_merges},
                {"vocab", vocab},
                {"merges", merges ? json(merges->strings) : json::array()}}}};

  json cfg = json::object();
  auto token_of = [&](const char* key) -> std::optional<std::string> {
    Result<int64_t> id = f.get_int(key);
    if (!id.is_ok() || *id < 0 || size_t(*id) >= tokens->strings.size()) return std::nullopt;
    return tokens->strings[size_t(*id)];
  };
  if (auto bos = token_of("tokenizer.ggml.bos_token_id")) cfg["bos_token"] = *bos;
  if (auto eos = token_of("tokenizer.ggml.eos_token_id")) cfg["eos_token"] = *eos;
  if (auto pad = token_of("tokenizer.ggml.padding_token_id")) cfg["pad_token"] = *pad;
  // llama.cpp adds BOS by default for llama-bpe vocabularies when the key is absent.
  bool add_bos = pre_name == "llama-bpe";
  if (f.find("tokenizer.ggml.add_bos_token")) {
    Result<bool> b = f.get_bool("tokenizer.ggml.add_bos_token");
    if (!b.is_ok()) return tokenizer_error(source, b.status().message());
    add_bos = *b;
  }
  cfg["add_bos_token"] = add_bos && cfg.contains("bos_token");
  cfg["add_eos_token"] = false;
  cfg["clean_up_tokenization_spaces"] = false;
  if (f.find("tokenizer.chat_template")) {
    Result<std::string> t = f.get_string("tokenizer.chat_template");
    if (!t.is_ok()) return tokenizer_error(source, t.status().message());
    cfg["chat_template"] = *t;
  }
  // Strict: a token or template that is not UTF-8 is a malformed file (thrown, reported below).
  return TokenizerFiles{tok.dump(-1, ' ', false, json::error_handler_t::strict),
                        cfg.dump(-1, ' ', false, json::error_handler_t::strict)};
}

static Status add_tokenizer_unchecked(Writer& w, const TokenizerFiles& hf, int vocab_size,
                                      const std::string& source) {
  json tok = json::parse(hf.tokenizer_json, nullptr, /*allow_exceptions=*/false);
  json cfg = hf.tokenizer_config_json.empty()
                 ? json::object()
                 : json::parse(hf.tokenizer_config_json, nullptr, /*allow_exceptions=*/false);
  if (tok.is_discarded() || !tok.is_object())
    return format_error(source + ": tokenizer.json does not parse");
  if (cfg.is_discarded() || !cfg.is_object()) {
    return format_error(source + ": tokenizer_config.json does not parse");
  }
  const json& model = tok.value("model", json::object());
  if (model.value("type", "") != "BPE" || model.value("byte_fallback", false) ||
      tok.value("decoder", json::object()).value("type", "") != "ByteLevel") {
    return unsupported(source +
                       ": only byte-level BPE tokenizers can be written to GGUF yet (model BPE "
                       "without byte_fallback, ByteLevel decoder)");
  }
  const std::optional<std::string> regex = split_regex(tok.value("pre_tokenizer", json()));
  const bool ignore_merges = model.value("ignore_merges", false);
  std::string pre_name;
  if (regex) {
    for (const PreTokenizer& p : kPreTokenizers) {
      const bool same_regex = p.regex ? *regex == p.regex : regex->empty();
      if (same_regex && p.ignore_merges == ignore_merges) {
        pre_name = p.name;
        break;
      }
    }
  }
  if (pre_name.empty()) {
    return unsupported(source +
                       ": the tokenizer's pre-tokenizer matches none of GGUF's known ones "
                       "(llama-bpe, dbrx, qwen2, gpt-2)");
  }

  const size_t n = static_cast<size_t>(vocab_size);
  std::vector<std::string> tokens(n);
  std::vector<int32_t> types(n, kNormal);
  std::vector<bool> seen(n, false);
  auto place = [&](const std::string& t, int64_t id, int type) -> Status {
    if (id < 0 || id >= vocab_size) {
      return format_error(source + ": token '" + t + "' has id " + std::to_string(id) +
                          ", outside the model's vocabulary of " + std::to_string(vocab_size));
    }
    tokens[size_t(id)] = t;
    types[size_t(id)] = type;
    seen[size_t(id)] = true;
    return Status::ok();
  };
  const json vocab = model.value("vocab", json::object());
  for (const auto& [t, id] : vocab.items()) {
    if (!id.is_number_integer())
      return format_error(source + ": vocab id of '" + t + "' is not an integer");
    XY_RETURN_IF_ERROR(place(t, id.get<int64_t>(), kNormal));
  }
  for (const json& a : tok.value("added_tokens", json::array())) {
    XY_RETURN_IF_ERROR(place(a.value("content", ""), a.value("id", int64_t(-1)),
                             a.value("special", false) ? kControl : kUserDefined));
  }
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (!seen[id]) {
      tokens[id] = "[PAD" + std::to_string(id) + "]";
      types[id] = kUserDefined;
    }
  }
  std::vector<std::string> merges;
  for (const json& m : model.value("merges", json::array())) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2) {
      merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      return format_error(source + ": a merge is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", pre_name);
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_int32_array("tokenizer.ggml.token_type", types);
  w.add_string_array("tokenizer.ggml.merges", merges);
  // Special tokens by content, as tokenizer_config.json names them (string or {"content": ...}).
  auto id_of = [&](const char* key) -> std::optional<uint32_t> {
    if (!cfg.contains(key)) return std::nullopt;
    const json& v = cfg[key];
    const std::string content = v.is_string()   ? v.get<std::string>()
                                : v.is_object() ? v.value("content", "")
                                                : "";
    for (size_t id = 0; id < tokens.size(); ++id)
      if (seen[id] && tokens[id] == content) return uint32_t(id);
    return std::nullopt;
  };
  if (auto id = id_of("bos_token")) w.add_uint32("tokenizer.ggml.bos_token_id", *id);
  if (auto id = id_of("eos_token")) w.add_uint32("tokenizer.ggml.eos_token_id", *id);
  if (auto id = id_of("pad_token")) w.add_uint32("tokenizer.ggml.padding_token_id", *id);
  // tokenizer_config.json's add_bos_token, else whether the post-processor's template for one
  // sequence starts with the BOS token (Llama 3's TemplateProcessing; no key in its config).
  bool add_bos = false;
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
    add_bos = cfg["add_bos_token"].get<bool>();
  } else if (auto bos = id_of("bos_token")) {
    json post = tok.value("post_processor", json());
    std::vector<json> processors;
    if (post.is_object() && post.value("type", "") == "Sequence" && post.contains("processors")) {
      for (const json& p : post["processors"]) processors.push_back(p);
    } else if (post.is_object()) {
      processors.push_back(post);
    }
    for (const json& p : processors) {
      if (!p.is_object() || p.value("type", "") != "TemplateProcessing") continue;
      const json single = p.value("single", json::array());
      if (single.is_array() && !single.empty() && single[0].contains("SpecialToken")) {
        add_bos = single[0]["SpecialToken"].value("id", "") == tokens[*bos];
      }
    }
  }
  w.add_bool("tokenizer.ggml.add_bos_token", add_bos);
  if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) {
    w.add_string("tokenizer.chat_template", cfg["chat_template"].get<std::string>());
  }
  return Status::ok();
}

// JSON of an unexpected shape (a number where a string belongs, ...) throws inside nlohmann;
// callers get a Status naming the file instead.
Result<TokenizerFiles> tokenizer_files_from_gguf(const File& file, const std::string& source) {
  try {
    return tokenizer_files_unchecked(file, source);
  } catch (const nlohmann::json::exception& e) {
    return format_error(source + ": tokenizer metadata: " + e.what());
  } catch (const std::bad_alloc&) {
    return resource_exhausted(source + ": out of memory reading the tokenizer");
  }
}

Status add_tokenizer_to_gguf(Writer& writer, const TokenizerFiles& hf, int vocab_size,
                             const std::string& source) {
  try {
    return add_tokenizer_unchecked(writer, hf, vocab_size, source);
  } catch (const nlohmann::json::exception& e) {
    return format_error(source + ": tokenizer.json / tokenizer_config.json: " + e.what());
  } catch (const std::bad_alloc&) {
    return resource_exhausted(source + ": out of memory converting the tokenizer");
  }
}

}  // namespace xy::gguf
