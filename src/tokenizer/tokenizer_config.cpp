#include "tokenizer/tokenizer_config.h"

#include "tokenizer/json_fields.h"

namespace xy {
namespace {

// A special token is written either as a plain string or as a serialized AddedToken object.
Result<std::optional<std::string>> special_token(const tokjson::Json& obj, const char* key,
                                                 const std::string& where) {
  const auto* v = tokjson::find(obj, key);
  if (v == nullptr) return std::optional<std::string>();
  if (v->is_string()) return std::optional<std::string>(v->get<std::string>());
  if (v->is_object()) {
    XY_ASSIGN_OR_RETURN(std::string content,
                        tokjson::required_string(*v, "content", where + "." + key));
    return std::optional<std::string>(std::move(content));
  }
  return format_error(where + "." + key + ": expected a string or an AddedToken object");
}

}  // namespace

Result<TokenizerConfig> parse_tokenizer_config(std::string_view json_text,
                                               std::string_view source_name) {
  TokenizerConfig config;
  if (json_text.empty()) return config;
  const std::string where(source_name);
  const tokjson::Json root = tokjson::Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return format_error(where + ": not valid JSON");
  if (!root.is_object()) return format_error(where + ": expected a JSON object");

  XY_ASSIGN_OR_RETURN(config.bos_token, special_token(root, "bos_token", where));
  XY_ASSIGN_OR_RETURN(config.eos_token, special_token(root, "eos_token", where));
  XY_ASSIGN_OR_RETURN(config.pad_token, special_token(root, "pad_token", where));
  XY_ASSIGN_OR_RETURN(config.unk_token, special_token(root, "unk_token", where));
  for (const char* key : {"add_bos_token", "add_eos_token"}) {
    if (const auto* v = tokjson::find(root, key)) {
      if (!v->is_boolean()) return format_error(where + "." + key + ": expected true or false");
      (std::string_view(key) == "add_bos_token" ? config.add_bos_token : config.add_eos_token) =
          v->get<bool>();
    }
  }
  XY_ASSIGN_OR_RETURN(config.clean_up_tokenization_spaces,
                      tokjson::bool_or(root, "clean_up_tokenization_spaces", true, where));
  if (const auto* v = tokjson::find(root, "model_max_length")) {
    // Files without a limit store 1e30, which only fits a double.
    if (!v->is_number()) return format_error(where + ".model_max_length: expected a number");
    const double d = v->get<double>();
    if (d > 0 && d < 1e15) config.model_max_length = static_cast<int64_t>(d);
  }
  if (const auto* v = tokjson::find(root, "chat_template")) {
    if (v->is_string()) {
      config.chat_templates["default"] = v->get<std::string>();
    } else if (v->is_array()) {
      for (size_t i = 0; i < v->size(); ++i) {
        const std::string at = where + ".chat_template[" + std::to_string(i) + "]";
        XY_ASSIGN_OR_RETURN(std::string name, tokjson::required_string((*v)[i], "name", at));
        XY_ASSIGN_OR_RETURN(std::string tmpl, tokjson::required_string((*v)[i], "template", at));
        config.chat_templates[name] = std::move(tmpl);
      }
    } else {
      return format_error(where +
                          ".chat_template: expected a string or a list of {name, template}");
    }
  }
  if (const auto* v = tokjson::find(root, "additional_special_tokens")) {
    if (!v->is_array())
      return format_error(where + ".additional_special_tokens: expected an array");
    for (const auto& t : *v) {
      if (t.is_string()) {
        config.additional_special_tokens.push_back(t.get<std::string>());
      } else if (t.is_object() && tokjson::find(t, "content") && t["content"].is_string()) {
        config.additional_special_tokens.push_back(t["content"].get<std::string>());
      } else {
        return format_error(where + ".additional_special_tokens: expected strings or AddedTokens");
      }
    }
  }
  XY_ASSIGN_OR_RETURN(auto cls, tokjson::optional_string(root, "tokenizer_class", where));
  config.tokenizer_class = cls.value_or("");
  return config;
}

}  // namespace xy
