#include "tokenizer/pre_tokenizer.h"

#include <algorithm>

#include "core/check.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/split_pattern.h"
#include "tokenizer/utf8.h"

namespace xy {

std::vector<std::pair<size_t, size_t>> split_by_matches(
    size_t size, const std::vector<std::pair<size_t, size_t>>& matches, SplitBehavior behavior,
    bool invert) {
  // Interleave the gaps and the matches, as Hugging Face's Pattern::find_matches does.
  struct Part {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Part> parts;
  if (size == 0) {
    parts.push_back({0, 0, false});
  } else {
    size_t prev = 0;
    for (const auto& [b, e] : matches) {
      if (prev != b) parts.push_back({prev, b, false});
      parts.push_back({b, e, true});
      prev = e;
    }
    if (prev != size) parts.push_back({prev, size, false});
  }
  if (invert) {
    for (auto& p : parts) p.is_match = !p.is_match;
  }
  std::vector<Part> merged;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      merged = parts;
      break;
    case SplitBehavior::kRemoved:
      for (const auto& p : parts) {
        if (!p.is_match) merged.push_back(p);
      }
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const auto& p : parts) {
        if (p.is_match && !previous_match && !merged.empty()) {
          merged.back().end = p.end;
        } else {
          merged.push_back(p);
        }
        previous_match = p.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !previous_match && !merged.empty()) {
          merged.back().begin = it->begin;
        } else {
          merged.push_back(*it);
        }
        previous_match = it->is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const auto& p : parts) {
        if (p.is_match == previous_match && !merged.empty()) {
          merged.back().end = p.end;
        } else {
          merged.push_back(p);
        }
        previous_match = p.is_match;
      }
      break;
    }
  }
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(merged.size());
  for (const auto& p : merged) {
    if (p.end > p.begin) out.emplace_back(p.begin, p.end);
  }
  return out;
}

namespace {

// Splits every piece at the matches of a pattern.
class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(SplitPattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  Status apply(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size() * 4);
    for (const std::string& piece : pieces) {
      XY_ASSIGN_OR_RETURN(auto matches, pattern_.find_matches(piece));
      for (const auto& [b, e] : split_by_matches(piece.size(), matches, behavior_, invert_)) {
        out.emplace_back(piece, b, e - b);
      }
    }
    pieces.swap(out);
    return Status::ok();
  }

 private:
  SplitPattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

constexpr char kGpt2Pattern[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<SplitPattern> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  Status apply(std::vector<std::string>& pieces, bool) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size());
    for (std::string& piece : pieces) {
      if (add_prefix_space_ && (piece.empty() || piece[0] != ' ')) piece = ' ' + piece;
      if (!regex_) {
        out.push_back(byte_level::encode(piece));
        continue;
      }
      XY_ASSIGN_OR_RETURN(auto matches, regex_->find_matches(piece));
      for (const auto& [b, e] :
           split_by_matches(piece.size(), matches, SplitBehavior::kIsolated, false)) {
        out.push_back(byte_level::encode(std::string_view(piece).substr(b, e - b)));
      }
    }
    pieces.swap(out);
    return Status::ok();
  }

 private:
  bool add_prefix_space_;
  std::optional<SplitPattern> regex_;  // GPT-2's word pattern when use_regex
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  Status apply(std::vector<std::string>& pieces, bool first_at_text_start) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::string text;
      for (char c : pieces[i]) {
        if (c == ' ') {
          text += replacement_;
        } else {
          text += c;
        }
      }
      const bool starts = text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways ||
                      (scheme_ == PrependScheme::kFirst && i == 0 && first_at_text_start))) {
        text = replacement_ + text;
      }
      if (!split_) {
        if (!text.empty()) out.push_back(std::move(text));
        continue;
      }
      std::vector<std::pair<size_t, size_t>> matches;
      for (size_t pos = 0; (pos = text.find(replacement_, pos)) != std::string::npos;
           pos += replacement_.size()) {
        matches.emplace_back(pos, pos + replacement_.size());
      }
      for (const auto& [b, e] :
           split_by_matches(text.size(), matches, SplitBehavior::kMergedWithNext, false)) {
        out.emplace_back(text, b, e - b);
      }
    }
    pieces.swap(out);
    return Status::ok();
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  Status apply(std::vector<std::string>& pieces, bool first_at_text_start) const override {
    for (const auto& p : parts_) XY_RETURN_IF_ERROR(p->apply(pieces, first_at_text_start));
    return Status::ok();
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

Result<SplitBehavior> parse_behavior(const tokjson::Json& config, std::string_view where,
                                     SplitBehavior fallback) {
  const auto* b = tokjson::find(config, "behavior");
  if (b == nullptr) return fallback;
  const std::string at = std::string(where) + ".behavior";
  if (!b->is_string()) return format_error(at + ": expected a string");
  const std::string s = b->get<std::string>();
  if (s == "Removed") return SplitBehavior::kRemoved;
  if (s == "Isolated") return SplitBehavior::kIsolated;
  if (s == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (s == "Contiguous") return SplitBehavior::kContiguous;
  return format_error(at + ": unknown split behavior '" + s + "'");
}

std::unique_ptr<PreTokenizer> regex_splitter(std::string_view regex, SplitBehavior behavior,
                                             bool invert) {
  tokjson::Json pattern = {{"Regex", std::string(regex)}};
  auto p = SplitPattern::from_json(pattern, "built-in");
  XY_CHECK(p.is_ok());
  return std::make_unique<SplitPreTokenizer>(std::move(p).value(), behavior, invert);
}

}  // namespace

Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const tokjson::Json& config,
                                                         std::string_view where) {
  XY_ASSIGN_OR_RETURN(std::string type, tokjson::component_type(config, where));
  if (type == "Sequence") {
    const auto* list = tokjson::find(config, "pretokenizers");
    if (list == nullptr || !list->is_array()) {
      return format_error(std::string(where) + ".pretokenizers: expected an array");
    }
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      XY_ASSIGN_OR_RETURN(auto part,
                          make_pre_tokenizer((*list)[i], std::string(where) + ".pretokenizers[" +
                                                             std::to_string(i) + "]"));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(parts)));
  }
  if (type == "Split") {
    const auto* pattern = tokjson::find(config, "pattern");
    if (pattern == nullptr) return format_error(std::string(where) + ".pattern: missing");
    XY_ASSIGN_OR_RETURN(SplitPattern p, SplitPattern::from_json(*pattern, where));
    XY_ASSIGN_OR_RETURN(SplitBehavior behavior,
                        parse_behavior(config, where, SplitBehavior::kIsolated));
    XY_ASSIGN_OR_RETURN(bool invert, tokjson::bool_or(config, "invert", false, where));
    return std::unique_ptr<PreTokenizer>(new SplitPreTokenizer(std::move(p), behavior, invert));
  }
  if (type == "ByteLevel") {
    XY_ASSIGN_OR_RETURN(bool add_prefix_space,
                        tokjson::bool_or(config, "add_prefix_space", true, where));
    XY_ASSIGN_OR_RETURN(bool use_regex, tokjson::bool_or(config, "use_regex", true, where));
    std::optional<SplitPattern> regex;
    if (use_regex) {
      auto p = SplitPattern::from_json(tokjson::Json{{"Regex", kGpt2Pattern}}, "built-in");
      XY_CHECK(p.is_ok());
      regex = std::move(p).value();
    }
    return std::unique_ptr<PreTokenizer>(
        new ByteLevelPreTokenizer(add_prefix_space, std::move(regex)));
  }
  if (type == "Metaspace") {
    std::string replacement = "\xE2\x96\x81";  // U+2581
    XY_ASSIGN_OR_RETURN(auto r, tokjson::optional_string(config, "replacement", where));
    if (r) replacement = *r;
    if (replacement.empty() || utf8::count_code_points(replacement) != 1) {
      return format_error(std::string(where) + ".replacement: expected exactly one character");
    }
    PrependScheme scheme = PrependScheme::kAlways;
    XY_ASSIGN_OR_RETURN(auto s, tokjson::optional_string(config, "prepend_scheme", where));
    if (s) {
      if (*s == "always") {
        scheme = PrependScheme::kAlways;
      } else if (*s == "first") {
        scheme = PrependScheme::kFirst;
      } else if (*s == "never") {
        scheme = PrependScheme::kNever;
      } else {
        return format_error(std::string(where) + ".prepend_scheme: unknown value '" + *s + "'");
      }
    } else {
      // Older files: add_prefix_space instead of prepend_scheme.
      XY_ASSIGN_OR_RETURN(bool add, tokjson::bool_or(config, "add_prefix_space", true, where));
      scheme = add ? PrependScheme::kAlways : PrependScheme::kNever;
    }
    XY_ASSIGN_OR_RETURN(bool split, tokjson::bool_or(config, "split", true, where));
    return std::unique_ptr<PreTokenizer>(
        new MetaspacePreTokenizer(std::move(replacement), scheme, split));
  }
  if (type == "Digits") {
    XY_ASSIGN_OR_RETURN(bool individual,
                        tokjson::bool_or(config, "individual_digits", false, where));
    return regex_splitter(
        R"(\p{N})", individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false);
  }
  if (type == "Punctuation") {
    XY_ASSIGN_OR_RETURN(SplitBehavior behavior,
                        parse_behavior(config, where, SplitBehavior::kIsolated));
    return regex_splitter(R"([\p{P}\x{21}-\x{2F}\x{3A}-\x{40}\x{5B}-\x{60}\x{7B}-\x{7E}])",
                          behavior, false);
  }
  if (type == "Whitespace") {
    return regex_splitter(
        R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}\s]+)",
        SplitBehavior::kRemoved, true);
  }
  if (type == "WhitespaceSplit") {
    return regex_splitter(R"(\s)", SplitBehavior::kRemoved, false);
  }
  return unsupported(std::string(where) + ": pre-tokenizer type '" + type +
                     "' is not supported (supported: ByteLevel, Split, Metaspace, Digits, "
                     "Punctuation, Whitespace, WhitespaceSplit, Sequence)");
}

}  // namespace xy
