#include "tokenizer/tokenizer.h"

#include <fstream>
#include <new>
#include <sstream>

#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace xy {
namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return io_error(path + ": read failed");
  return buffer.str();
}

bool file_exists(const std::string& path) {
  return std::ifstream(path).good();
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_dir(const std::string& model_dir) {
  const std::string json_path = model_dir + "/tokenizer.json";
  const std::string config_path = model_dir + "/tokenizer_config.json";
  XY_ASSIGN_OR_RETURN(std::string json, read_file(json_path));
  std::string config;
  if (file_exists(config_path)) {
    XY_ASSIGN_OR_RETURN(config, read_file(config_path));
  }
  return load_json(json, config, model_dir);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_json(std::string_view tokenizer_json,
                                                        std::string_view tokenizer_config_json,
                                                        std::string_view source_name) {
  const std::string file = std::string(source_name) + "/tokenizer.json";
  try {
    std::unique_ptr<Tokenizer> t(new Tokenizer());
    XY_ASSIGN_OR_RETURN(
        t->config_, parse_tokenizer_config(tokenizer_config_json,
                                           std::string(source_name) + "/tokenizer_config.json"));
    const tokjson::Json root =
        tokjson::Json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return format_error(file + ": not valid JSON");
    if (!root.is_object()) return format_error(file + ": expected a JSON object");
    const std::string at = file + ": ";

    const auto* model = tokjson::find(root, "model");
    if (model == nullptr) return format_error(at + "model: missing");
    // Older BPE files omit model.type; they are recognised by their merges.
    std::string type = "BPE";
    if (tokjson::find(*model, "type") != nullptr || tokjson::find(*model, "merges") == nullptr) {
      XY_ASSIGN_OR_RETURN(type, tokjson::component_type(*model, at + "model"));
    }
    if (type != "BPE") {
      return unsupported(at + "model.type '" + type +
                         "' is not supported (xyserve implements BPE tokenizers)");
    }
    XY_ASSIGN_OR_RETURN(t->model_, BpeModel::from_json(*model, at + "model"));

    if (const auto* n = tokjson::find(root, "normalizer")) {
      XY_ASSIGN_OR_RETURN(t->normalizer_, make_normalizer(*n, at + "normalizer"));
    }
    if (const auto* p = tokjson::find(root, "pre_tokenizer")) {
      XY_ASSIGN_OR_RETURN(t->pre_tokenizer_, make_pre_tokenizer(*p, at + "pre_tokenizer"));
    }
    if (const auto* p = tokjson::find(root, "post_processor")) {
      XY_ASSIGN_OR_RETURN(t->post_processor_, make_post_processor(*p, at + "post_processor"));
    }
    if (const auto* d = tokjson::find(root, "decoder")) {
      XY_ASSIGN_OR_RETURN(t->decoder_, make_decoder(*d, at + "decoder"));
    }
    static const tokjson::Json kNone = tokjson::Json::array();
    const auto* added = tokjson::find(root, "added_tokens");
    XY_ASSIGN_OR_RETURN(t->added_,
                        AddedVocabulary::from_json(added ? *added : kNone, at + "added_tokens"));
    t->resolve_special_ids();
    return t;
  } catch (const std::bad_alloc&) {
    return resource_exhausted(file + ": out of memory while loading");
  } catch (const std::exception& e) {
    return format_error(file + ": " + e.what());
  }
}

void Tokenizer::resolve_special_ids() {
  bos_token_ = config_.bos_token.value_or("");
  eos_token_ = config_.eos_token.value_or("");
  if (!bos_token_.empty()) bos_id_ = token_to_id(bos_token_);
  if (!eos_token_.empty()) eos_id_ = token_to_id(eos_token_);
  if (config_.pad_token) pad_id_ = token_to_id(*config_.pad_token);
}

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text,
                                               bool add_special_tokens) const {
  if (const size_t bad = utf8::find_invalid(text); bad != std::string_view::npos) {
    return invalid_argument("tokenizer: input text is not valid UTF-8 at byte " +
                            std::to_string(bad));
  }
  try {
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 4);
    for (const TextSegment& seg : added_.split(text, /*normalized_pass=*/false)) {
      if (seg.token_id >= 0) {
        ids.push_back(seg.token_id);
        continue;
      }
      XY_RETURN_IF_ERROR(
          encode_section(text.substr(seg.begin, seg.end - seg.begin), seg.begin == 0, ids));
    }
    if (add_special_tokens) {
      if (post_processor_ != nullptr) post_processor_->apply(ids);
      // tokenizer_config.json's add_bos/eos_token for files whose post-processor adds nothing.
      const bool processor_adds = post_processor_ != nullptr && post_processor_->added_count() > 0;
      if (!processor_adds) {
        if (config_.add_bos_token.value_or(false) && bos_id_) ids.insert(ids.begin(), *bos_id_);
        if (config_.add_eos_token.value_or(false) && eos_id_) ids.push_back(*eos_id_);
      }
    }
    return ids;
  } catch (const std::bad_alloc&) {
    return resource_exhausted("tokenizer: out of memory encoding " + std::to_string(text.size()) +
                              " bytes");
  }
}

Status Tokenizer::encode_section(std::string_view section, bool at_text_start,
                                 std::vector<int32_t>& ids) const {
  std::string normalized;
  if (normalizer_ != nullptr) {
    XY_ASSIGN_OR_RETURN(normalized, normalizer_->normalize(section));
  } else {
    normalized = std::string(section);
  }
  if (normalized.empty()) return Status::ok();
  if (!added_.has_normalized_tokens()) return encode_normalized(normalized, at_text_start, ids);
  for (const TextSegment& seg : added_.split(normalized, /*normalized_pass=*/true)) {
    if (seg.token_id >= 0) {
      ids.push_back(seg.token_id);
    } else {
      XY_RETURN_IF_ERROR(
          encode_normalized(std::string_view(normalized).substr(seg.begin, seg.end - seg.begin),
                            at_text_start && seg.begin == 0, ids));
    }
  }
  return Status::ok();
}

Status Tokenizer::encode_normalized(std::string_view text, bool at_text_start,
                                    std::vector<int32_t>& ids) const {
  std::vector<std::string> words{std::string(text)};
  if (pre_tokenizer_ != nullptr) XY_RETURN_IF_ERROR(pre_tokenizer_->apply(words, at_text_start));
  for (const std::string& w : words) XY_RETURN_IF_ERROR(model_->encode_word(w, ids));
  return Status::ok();
}

std::string Tokenizer::decode_without_cleanup(std::span<const int32_t> ids,
                                              bool skip_special_tokens) const {
  try {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
      if (const AddedToken* a = added_.find_by_id(id)) {
        if (skip_special_tokens && a->special) continue;
        tokens.push_back(a->content);
      } else if (const std::string* s = model_->id_to_token(id)) {
        tokens.push_back(*s);
      }
    }
    if (decoder_ != nullptr) {
      decoder_->decode_chain(tokens);
      std::string out;
      for (const auto& t : tokens) out += t;
      return out;
    }
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out += ' ';
      out += tokens[i];
    }
    return out;
  } catch (const std::bad_alloc&) {
    return std::string();  // decode has no error channel; an empty string under OOM
  }
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string text = decode_without_cleanup(ids, skip_special_tokens);
  return config_.clean_up_tokenization_spaces ? clean_up_tokenization(text) : text;
}

bool Tokenizer::decoder_window_safe() const {
  return decoder_ == nullptr || decoder_->window_safe();
}

int Tokenizer::vocab_size() const {
  int32_t n = model_->vocab_size();
  for (const AddedToken& t : added_.tokens()) n = std::max(n, t.id + 1);
  return n;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* a = added_.find_by_content(token)) return a->id;
  return model_->token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = added_.find_by_id(id)) return a->content;
  const std::string* s = model_->id_to_token(id);
  return s ? *s : std::string();
}

std::optional<std::string> Tokenizer::token_bytes(int32_t id) const {
  if (const AddedToken* a = added_.find_by_id(id)) {
    if (a->special) return std::nullopt;
    return a->content;  // added tokens are matched and decoded as their literal content
  }
  const std::string* s = model_->id_to_token(id);
  if (s == nullptr) return std::nullopt;
  std::string bytes = *s;
  if (decoder_) decoder_->token_bytes(bytes);
  return bytes;
}

bool Tokenizer::is_special(int32_t id) const {
  const AddedToken* a = added_.find_by_id(id);
  return a != nullptr && a->special;
}

const std::string& Tokenizer::chat_template() const {
  static const std::string kEmpty;
  const auto it = config_.chat_templates.find("default");
  return it == config_.chat_templates.end() ? kEmpty : it->second;
}

std::optional<std::string> Tokenizer::chat_template(std::string_view name) const {
  const auto it = config_.chat_templates.find(std::string(name));
  if (it == config_.chat_templates.end()) return std::nullopt;
  return it->second;
}

std::string clean_up_tokenization(std::string_view text) {
  static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  std::string s(text);
  for (const auto& [from, to] : kRules) {
    if (s.find(from) == std::string::npos) continue;
    std::string out;
    out.reserve(s.size());
    size_t prev = 0, pos;
    while ((pos = s.find(from, prev)) != std::string::npos) {
      out.append(s, prev, pos - prev);
      out.append(to);
      prev = pos + from.size();
    }
    out.append(s, prev, std::string::npos);
    s.swap(out);
  }
  return s;
}

}  // namespace xy
