#include "model/gguf/gguf_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <vector>

namespace xy::gguf {
namespace {

// Unordered: ids are explicit, and nlohmann's ordered map looks keys up linearly (quadratic for
// a 150k-token vocabulary).
using json = nlohmann::json;

// Token types as GGUF numbers them.
constexpr int kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kByte = 6;

// SentencePiece's word-start mark, U+2581 (UTF-8 E2 96 81).
constexpr const char* kSpmSpace = "\xe2\x96\x81";

// The pre-tokenizer regexes as Hugging Face's tokenizer.json files write them, by the name
// llama.cpp's converter stores in tokenizer.ggml.pre.
struct PreTokenizer {
  const char* name;
  const char* regex;  // nullptr: ByteLevel's own (GPT-2) regex
  bool ignore_merges;
  bool nfc = false;  // the family's tokenizer.json normalizes to NFC first (Qwen2 and its kin)
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
    {"llama-bpe", kLlama3Regex, true},
    {"llama3", kLlama3Regex, true},
    {"llama-v3", kLlama3Regex, true},
    {"dbrx", kLlama3Regex, false},
    {"smaug-bpe", kLlama3Regex, false},
    {"qwen2", kQwen2Regex, false, true},
    {"deepseek-r1-qwen", kQwen2Regex, false, true},
    {"gpt-2", nullptr, false},
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

// Code point boundaries of a UTF-8 string (byte offsets, the end included).
std::vector<size_t> code_point_starts(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  starts.push_back(s.size());
  return starts;
}

// SentencePiece BPE keeps no merge list: at each step it joins the adjacent pair whose joined
// piece scores highest. As Hugging Face's converter does, the equivalent merge list is every split
// (a, b) of every normal piece into two pieces of the vocabulary, ranked by the joined piece's
// score (highest first), then by the ids of a and b.
std::vector<std::string> merges_from_scores(const std::vector<std::string>& tokens,
                                            const std::vector<int>& types,
                                            const std::vector<float>& scores, const json& vocab) {
  struct Merge {
    float score;
    int64_t left, right;
    std::string text;
  };
  std::vector<Merge> merges;
  for (size_t id = 0; id < tokens.size(); ++id) {
    // SentencePiece pieces are short (16 code points by default); a longer "piece" in a hostile
    // file would cost quadratic time in its splits and is never a merge result anyway.
    if (types[id] != kNormal || tokens[id].size() > 256) continue;
    const std::string& t = tokens[id];
    const std::vector<size_t> cps = code_point_starts(t);
    for (size_t c = 1; c + 1 < cps.size(); ++c) {
      const std::string a = t.substr(0, cps[c]), b = t.substr(cps[c]);
      auto ia = vocab.find(a), ib = vocab.find(b);
      if (ia == vocab.end() || ib == vocab.end()) continue;
      merges.push_back({scores[id], ia->get<int64_t>(), ib->get<int64_t>(), a + " " + b});
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& x, const Merge& y) {
    if (x.score != y.score) return x.score > y.score;
    return x.left != y.left ? x.left < y.left : x.right < y.right;
  });
  std::vector<std::string> out;
  out.reserve(merges.size());
  for (Merge& m : merges) out.push_back(std::move(m.text));
  return out;
}

// tokenizer.json for a SentencePiece BPE vocabulary (tokenizer.ggml.model "llama": Llama 2,
// Mistral, ...), in the form Hugging Face's converter gives it: spaces become U+2581 (with one
// prepended when add_space_prefix), BPE with byte fallback over <0xXX> pieces, and the decoder
// that undoes both.
json spm_tokenizer_json(const File& f, const std::vector<std::string>& tokens,
                        const std::vector<int>& types, json vocab, json added,
                        const std::string& source, Status* error) {
  std::vector<float> scores(tokens.size(), 0.0f);
  if (const Value* s = f.find("tokenizer.ggml.scores")) {
    if (s->type != ValueType::kArray || s->floats.size() != tokens.size()) {
      *error = tokenizer_error(source, "tokenizer.ggml.scores must be one float per token");
      return json();
    }
    for (size_t i = 0; i < tokens.size(); ++i) scores[i] = float(s->floats[i]);
  }
  bool add_space_prefix = true;
  if (f.find("tokenizer.ggml.add_space_prefix")) {
    Result<bool> b = f.get_bool("tokenizer.ggml.add_space_prefix");
    if (!b.is_ok()) {
      *error = tokenizer_error(source, b.status().message());
      return json();
    }
    add_space_prefix = *b;
  }
  std::string unk;
  if (Result<int64_t> id = f.get_int("tokenizer.ggml.unknown_token_id");
      id.is_ok() && *id >= 0 && size_t(*id) < tokens.size()) {
    unk = tokens[size_t(*id)];
  }
  json normalizers = json::array();
  if (add_space_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", kSpmSpace}});
  normalizers.push_back(
      {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kSpmSpace}});
  json decoders =
      json::array({{{"type", "Replace"}, {"pattern", {{"String", kSpmSpace}}}, {"content", " "}},
                   {{"type", "ByteFallback"}},
                   {{"type", "Fuse"}}});
  if (add_space_prefix) {
    decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  }
  const std::vector<std::string> merges = merges_from_scores(tokens, types, scores, vocab);
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", {{"type", "Sequence"}, {"normalizers", normalizers}}},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", {{"type", "Sequence"}, {"decoders", decoders}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", unk.empty() ? json(nullptr) : json(unk)},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", true},
            {"byte_fallback", true},
            {"vocab", std::move(vocab)},
            {"merges", merges}}}};
}

static Result<TokenizerFiles> tokenizer_files_unchecked(const File& f, const std::string& source) {
  Result<std::string> model = f.get_string("tokenizer.ggml.model");
  if (!model.is_ok()) return tokenizer_error(source, model.status().message());
  if (*model != "gpt2" && *model != "llama") {
    return unsupported(source + ": tokenizer model '" + *model +
                       "' (supported: 'gpt2' byte-level BPE and 'llama' SentencePiece BPE)");
  }
  const bool spm = *model == "llama";
  std::string pre_name = "(none)";
  if (f.find("tokenizer.ggml.pre")) {
    Result<std::string> p = f.get_string("tokenizer.ggml.pre");
    if (!p.is_ok()) return tokenizer_error(source, p.status().message());
    pre_name = *p;
  }
  const PreTokenizer* pre = nullptr;
  for (const PreTokenizer& p : kPreTokenizers)
    if (pre_name == p.name) pre = &p;
  if (!pre && !spm) {
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
  std::vector<int> type_of(tokens->strings.size(), kNormal);
  for (size_t id = 0; id < tokens->strings.size(); ++id) {
    const std::string& t = tokens->strings[id];
    const int type = types ? int(types->ints[id]) : kNormal;
    type_of[id] = type;
    if (type == kControl || type == kUserDefined || (spm && type == kUnknown)) {
      added.push_back({{"id", id},
                       {"content", t},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", type != kUserDefined}});
    }
    if (!vocab.contains(t)) vocab[t] = id;  // a duplicate keeps its first id, as HF does
  }
  json tok;
  if (spm) {
    Status error = Status::ok();
    tok = spm_tokenizer_json(f, tokens->strings, type_of, std::move(vocab), added, source, &error);
    XY_RETURN_IF_ERROR(error);
  } else {
    json pre_tokenizer =
        pre->regex ? json{{"type", "Sequence"},
                          {"pretokenizers", json::array({{{"type", "Split"},
                                                          {"pattern", {{"Regex", pre->regex}}},
                                                          {"behavior", "Isolated"},
                                                          {"invert", false}},
                                                         byte_level(false)})}}
                   : byte_level(true);
    tok = {{"version", "1.0"},
           {"truncation", nullptr},
           {"padding", nullptr},
           {"added_tokens", added},
           {"normalizer", pre->nfc ? json{{"type", "NFC"}} : json(nullptr)},
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
  }

  json cfg = json::object();
  auto token_of = [&](const char* key) -> std::optional<std::string> {
    Result<int64_t> id = f.get_int(key);
    if (!id.is_ok() || *id < 0 || size_t(*id) >= tokens->strings.size()) return std::nullopt;
    return tokens->strings[size_t(*id)];
  };
  if (auto bos = token_of("tokenizer.ggml.bos_token_id")) cfg["bos_token"] = *bos;
  if (auto eos = token_of("tokenizer.ggml.eos_token_id")) cfg["eos_token"] = *eos;
  if (auto pad = token_of("tokenizer.ggml.padding_token_id")) cfg["pad_token"] = *pad;
  // llama.cpp adds BOS by default for llama-bpe and SentencePiece vocabularies when the key is
  // absent.
  bool add_bos = pre_name == "llama-bpe" || spm;
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

// The normalizers of a tokenizer.json as a list (a Sequence's members, or the one normalizer).
std::vector<json> normalizer_list(const json& tok) {
  const json n = tok.value("normalizer", json());
  if (!n.is_object()) return {};
  if (n.value("type", "") == "Sequence") return n.value("normalizers", json::array());
  return {n};
}

// SentencePiece style: BPE with byte fallback whose normalizer turns spaces into U+2581.
bool is_spm_style(const json& tok) {
  if (!tok.value("model", json::object()).value("byte_fallback", false)) return false;
  for (const json& n : normalizer_list(tok)) {
    if (n.value("type", "") == "Replace" && n.value("content", "") == kSpmSpace) return true;
  }
  return false;
}

bool spm_prepends_space(const json& tok) {
  for (const json& n : normalizer_list(tok)) {
    if (n.value("type", "") == "Prepend" && n.value("prepend", "") == kSpmSpace) return true;
  }
  return false;
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
  const bool spm = is_spm_style(tok);
  if (model.value("type", "") != "BPE" ||
      (!spm && (model.value("byte_fallback", false) ||
                tok.value("decoder", json::object()).value("type", "") != "ByteLevel"))) {
    return unsupported(source +
                       ": only BPE tokenizers can be written to GGUF (byte-level, or SentencePiece "
                       "style with byte fallback and U+2581 spaces)");
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
  if (pre_name.empty() && !spm) {
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
  const std::string unk = model.value("unk_token", json()).is_string()
                              ? model["unk_token"].get<std::string>()
                              : std::string();
  for (const json& a : tok.value("added_tokens", json::array())) {
    const std::string content = a.value("content", "");
    const int type = spm && content == unk       ? kUnknown
                     : a.value("special", false) ? kControl
                                                 : kUserDefined;
    XY_RETURN_IF_ERROR(place(content, a.value("id", int64_t(-1)), type));
  }
  if (spm) {  // byte-fallback pieces <0x00> .. <0xFF>
    for (size_t id = 0; id < tokens.size(); ++id) {
      const std::string& t = tokens[id];
      if (types[id] == kNormal && t.size() == 6 && t.rfind("<0x", 0) == 0 && t[5] == '>') {
        types[id] = kByte;
      }
    }
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
  if (spm) {
    // SentencePiece files rank pieces by score instead of listing merges: a piece first built by
    // merge r scores -r, so the reader's score order gives back the merge order.
    std::vector<float> scores(n, 0.0f);
    std::vector<bool> scored(n, false);
    for (size_t r = 0; r < merges.size(); ++r) {
      const size_t space = merges[r].find(' ');
      if (space == std::string::npos) continue;
      const std::string joined = merges[r].substr(0, space) + merges[r].substr(space + 1);
      auto it = vocab.find(joined);
      if (it == vocab.end() || !it->is_number_integer()) continue;
      const int64_t id = it->get<int64_t>();
      if (id < 0 || id >= vocab_size || scored[size_t(id)]) continue;
      scores[size_t(id)] = -float(r);
      scored[size_t(id)] = true;
    }
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_string_array("tokenizer.ggml.tokens", tokens);
    w.add_float32_array("tokenizer.ggml.scores", scores);
    w.add_int32_array("tokenizer.ggml.token_type", types);
    w.add_bool("tokenizer.ggml.add_space_prefix", spm_prepends_space(tok));
    for (size_t id = 0; id < n; ++id) {
      if (types[id] == kUnknown) w.add_uint32("tokenizer.ggml.unknown_token_id", uint32_t(id));
    }
  } else {
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", pre_name);
    w.add_string_array("tokenizer.ggml.tokens", tokens);
    w.add_int32_array("tokenizer.ggml.token_type", types);
    w.add_string_array("tokenizer.ggml.merges", merges);
  }
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
