#include "tokenizer/added_vocabulary.h"

#include <cctype>

#include "tokenizer/utf8.h"

namespace xy {
namespace {

// Hugging Face's "word" characters for single_word: alphanumerics and '_'.
bool is_word_char(char32_t cp) {
  if (cp < 0x80) return std::isalnum(static_cast<int>(cp)) || cp == '_';
  return !utf8::is_whitespace(cp);  // conservative for non-ASCII: letters of any script
}

char32_t last_code_point(std::string_view s) {
  size_t start = s.size() - 1;
  while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
  return utf8::decode_at(s, start);
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view key, int32_t token_index) {
  int32_t node = 0;
  for (char c : key) {
    const auto b = static_cast<uint8_t>(c);
    auto it = nodes[static_cast<size_t>(node)].children.find(b);
    if (it == nodes[static_cast<size_t>(node)].children.end()) {
      const auto next = static_cast<int32_t>(nodes.size());
      nodes[static_cast<size_t>(node)].children.emplace(b, next);
      nodes.emplace_back();
      node = next;
    } else {
      node = it->second;
    }
  }
  // The first token with a given content wins.
  if (nodes[static_cast<size_t>(node)].token_index < 0) {
    nodes[static_cast<size_t>(node)].token_index = token_index;
  }
}

int32_t AddedVocabulary::Trie::longest_match(std::string_view text, size_t pos,
                                             size_t& match_end) const {
  int32_t node = 0, best = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto& children = nodes[static_cast<size_t>(node)].children;
    const auto it = children.find(static_cast<uint8_t>(text[i]));
    if (it == children.end()) break;
    node = it->second;
    if (nodes[static_cast<size_t>(node)].token_index >= 0) {
      best = nodes[static_cast<size_t>(node)].token_index;
      match_end = i + 1;
    }
  }
  return best;
}

Result<AddedVocabulary> AddedVocabulary::from_json(const tokjson::Json& added_tokens,
                                                   std::string_view where) {
  AddedVocabulary v;
  if (!added_tokens.is_array()) return format_error(std::string(where) + ": expected an array");
  for (size_t i = 0; i < added_tokens.size(); ++i) {
    const auto& t = added_tokens[i];
    const std::string at = std::string(where) + "[" + std::to_string(i) + "]";
    if (!t.is_object()) return format_error(at + ": expected an object");
    AddedToken token;
    XY_ASSIGN_OR_RETURN(int64_t id, tokjson::int_or(t, "id", -1, at));
    if (id < 0 || id > INT32_MAX) return format_error(at + ".id: missing or out of range");
    token.id = static_cast<int32_t>(id);
    XY_ASSIGN_OR_RETURN(token.content, tokjson::required_string(t, "content", at));
    if (token.content.empty()) return format_error(at + ".content: empty added token");
    XY_ASSIGN_OR_RETURN(token.special, tokjson::bool_or(t, "special", false, at));
    XY_ASSIGN_OR_RETURN(token.single_word, tokjson::bool_or(t, "single_word", false, at));
    XY_ASSIGN_OR_RETURN(token.lstrip, tokjson::bool_or(t, "lstrip", false, at));
    XY_ASSIGN_OR_RETURN(token.rstrip, tokjson::bool_or(t, "rstrip", false, at));
    XY_ASSIGN_OR_RETURN(token.normalized, tokjson::bool_or(t, "normalized", !token.special, at));
    const auto index = static_cast<int32_t>(v.tokens_.size());
    (token.normalized ? v.normalized_trie_ : v.raw_trie_).insert(token.content, index);
    v.has_normalized_ = v.has_normalized_ || token.normalized;
    v.by_id_.emplace(token.id, v.tokens_.size());
    v.by_content_.emplace(token.content, v.tokens_.size());
    v.tokens_.push_back(std::move(token));
  }
  return v;
}

const AddedToken* AddedVocabulary::find_by_id(int32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::find_by_content(std::string_view content) const {
  const auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

std::vector<TextSegment> AddedVocabulary::split(std::string_view text, bool normalized_pass) const {
  const Trie& trie = normalized_pass ? normalized_trie_ : raw_trie_;
  std::vector<TextSegment> out;
  size_t text_start = 0;  // start of the ordinary text not yet emitted
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = 0;
    const int32_t index = trie.nodes.size() > 1 ? trie.longest_match(text, pos, end) : -1;
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[static_cast<size_t>(index)];
    size_t begin = pos;
    if (token.single_word) {
      const bool space_before = begin == 0 || !is_word_char(last_code_point(text.substr(0, begin)));
      size_t after = end;
      const bool space_after = end == text.size() || !is_word_char(utf8::decode_at(text, after));
      if (!space_before || !space_after) {
        ++pos;
        continue;
      }
    }
    if (token.lstrip) {
      while (begin > text_start) {
        size_t start = begin - 1;
        while (start > text_start && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
        size_t next = start;
        if (!utf8::is_whitespace(utf8::decode_at(text, next))) break;
        begin = start;
      }
    }
    if (token.rstrip) {
      while (end < text.size()) {
        size_t next = end;
        if (!utf8::is_whitespace(utf8::decode_at(text, next))) break;
        end = next;
      }
    }
    if (begin > text_start) out.push_back(TextSegment{text_start, begin, -1});
    out.push_back(TextSegment{begin, end, token.id});
    text_start = pos = end;
  }
  if (text_start < text.size()) out.push_back(TextSegment{text_start, text.size(), -1});
  return out;
}

}  // namespace xy
