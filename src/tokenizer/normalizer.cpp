#include "tokenizer/normalizer.h"

#include <vector>

#include "tokenizer/split_pattern.h"
#include "tokenizer/unicode_normalization.h"
#include "tokenizer/utf8.h"

namespace xy {
namespace {

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  Result<std::string> normalize(std::string_view text) const override {
    std::string current(text);
    for (const auto& p : parts_) {
      XY_ASSIGN_OR_RETURN(current, p->normalize(current));
    }
    return current;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// Hugging Face prepends only to non-empty text.
class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  Result<std::string> normalize(std::string_view text) const override {
    if (text.empty()) return std::string();
    return prefix_ + std::string(text);
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(SplitPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  Result<std::string> normalize(std::string_view text) const override {
    return pattern_.replace_all(text, content_);
  }

 private:
  SplitPattern pattern_;
  std::string content_;
};

class UnicodeFormNormalizer final : public Normalizer {
 public:
  explicit UnicodeFormNormalizer(NormalizationForm form) : form_(form) {}
  Result<std::string> normalize(std::string_view text) const override {
    return normalize_unicode(text, form_);
  }

 private:
  NormalizationForm form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  Result<std::string> normalize(std::string_view text) const override {
    return lowercase_unicode(text);
  }
};

// Strips White_Space code points from either end.
class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  Result<std::string> normalize(std::string_view text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t next = begin;
        if (!utf8::is_whitespace(utf8::decode_at(text, next))) break;
        begin = next;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
        size_t next = start;
        if (!utf8::is_whitespace(utf8::decode_at(text, next))) break;
        end = start;
      }
    }
    return std::string(text.substr(begin, end - begin));
  }

 private:
  bool left_, right_;
};

}  // namespace

Result<std::unique_ptr<Normalizer>> make_normalizer(const tokjson::Json& config,
                                                    std::string_view where) {
  XY_ASSIGN_OR_RETURN(std::string type, tokjson::component_type(config, where));
  if (type == "Sequence") {
    const auto* list = tokjson::find(config, "normalizers");
    if (list == nullptr || !list->is_array()) {
      return format_error(std::string(where) + ".normalizers: expected an array");
    }
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      XY_ASSIGN_OR_RETURN(auto part,
                          make_normalizer((*list)[i], std::string(where) + ".normalizers[" +
                                                          std::to_string(i) + "]"));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(parts)));
  }
  if (type == "Prepend") {
    XY_ASSIGN_OR_RETURN(std::string prefix, tokjson::required_string(config, "prepend", where));
    return std::unique_ptr<Normalizer>(new PrependNormalizer(std::move(prefix)));
  }
  if (type == "Replace") {
    const auto* pattern = tokjson::find(config, "pattern");
    if (pattern == nullptr) return format_error(std::string(where) + ".pattern: missing");
    XY_ASSIGN_OR_RETURN(SplitPattern p, SplitPattern::from_json(*pattern, where));
    XY_ASSIGN_OR_RETURN(std::string content, tokjson::required_string(config, "content", where));
    return std::unique_ptr<Normalizer>(new ReplaceNormalizer(std::move(p), std::move(content)));
  }
  if (type == "NFC")
    return std::unique_ptr<Normalizer>(new UnicodeFormNormalizer(NormalizationForm::kNFC));
  if (type == "NFD")
    return std::unique_ptr<Normalizer>(new UnicodeFormNormalizer(NormalizationForm::kNFD));
  if (type == "NFKC")
    return std::unique_ptr<Normalizer>(new UnicodeFormNormalizer(NormalizationForm::kNFKC));
  if (type == "NFKD")
    return std::unique_ptr<Normalizer>(new UnicodeFormNormalizer(NormalizationForm::kNFKD));
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new LowercaseNormalizer());
  if (type == "Strip") {
    XY_ASSIGN_OR_RETURN(bool left, tokjson::bool_or(config, "strip_left", true, where));
    XY_ASSIGN_OR_RETURN(bool right, tokjson::bool_or(config, "strip_right", true, where));
    return std::unique_ptr<Normalizer>(new StripNormalizer(left, right));
  }
  return unsupported(std::string(where) + ": normalizer type '" + type +
                     "' is not supported (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, "
                     "NFKD, Lowercase, Strip)");
}

}  // namespace xy
