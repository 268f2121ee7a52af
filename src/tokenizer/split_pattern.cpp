#include "tokenizer/split_pattern.h"

namespace xy {

Result<SplitPattern> SplitPattern::from_json(const tokjson::Json& pattern, std::string_view where) {
  const std::string at = std::string(where) + ".pattern";
  if (!pattern.is_object())
    return format_error(at + ": expected {\"String\": ...} or {\"Regex\": ...}");
  if (const auto* s = tokjson::find(pattern, "String")) {
    if (!s->is_string()) return format_error(at + ".String: expected a string");
    if (s->get<std::string>().empty()) return format_error(at + ".String: empty pattern");
    return literal(s->get<std::string>());
  }
  if (const auto* r = tokjson::find(pattern, "Regex")) {
    if (!r->is_string()) return format_error(at + ".Regex: expected a string");
    XY_ASSIGN_OR_RETURN(Regex regex, Regex::compile(r->get<std::string>(), at + ".Regex"));
    SplitPattern p;
    p.regex_ = std::move(regex);
    return p;
  }
  return format_error(at + ": expected {\"String\": ...} or {\"Regex\": ...}");
}

SplitPattern SplitPattern::literal(std::string text) {
  SplitPattern p;
  p.literal_ = std::move(text);
  return p;
}

Result<std::vector<std::pair<size_t, size_t>>> SplitPattern::find_matches(
    std::string_view text) const {
  if (regex_) return regex_->find_all(text);
  std::vector<std::pair<size_t, size_t>> matches;
  size_t pos = 0;
  while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
    matches.emplace_back(pos, pos + literal_.size());
    pos += literal_.size();
  }
  return matches;
}

Result<std::string> SplitPattern::replace_all(std::string_view text,
                                              std::string_view content) const {
  XY_ASSIGN_OR_RETURN(auto matches, find_matches(text));
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size() + matches.size() * content.size());
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    out.append(text.substr(prev, b - prev));
    out.append(content);
    prev = e;
  }
  out.append(text.substr(prev));
  return out;
}

}  // namespace xy
