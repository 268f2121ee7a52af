#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include "tokenizer/utf8.h"

namespace xy {

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

constexpr char kWhiteSpaceSet[] =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

}  // namespace

std::string rewrite_oniguruma_for_pcre2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 64);
  int class_depth = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      if (e == 's' || e == 'S') {
        if (class_depth > 0 && e == 's') {
          out += kWhiteSpaceSet;
        } else if (class_depth > 0) {
          // A negated set inside a class: PCRE2 accepts a nested POSIX-free form via \P{...}
          // only for properties, so spell it as "not White_Space" with a lookup-free class.
          out +=
              "\\x{0}-\\x{8}\\x{E}-\\x{1F}\\x{21}-\\x{84}\\x{86}-\\x{9F}\\x{A1}-\\x{167F}"
              "\\x{1681}-\\x{1FFF}\\x{200B}-\\x{2027}\\x{202A}-\\x{202E}\\x{2030}-\\x{205E}"
              "\\x{2060}-\\x{2FFF}\\x{3001}-\\x{10FFFF}";
        } else {
          out += e == 's' ? "[" : "[^";
          out += kWhiteSpaceSet;
          out += "]";
        }
        ++i;
        continue;
      }
      out += c;
      out += e;
      ++i;
      continue;
    }
    if (c == '[') {
      ++class_depth;
      out += c;
      // A ']' right after '[' or '[^' is a literal in both dialects.
      if (i + 1 < p.size() && p[i + 1] == '^') {
        out += '^';
        ++i;
      }
      if (i + 1 < p.size() && p[i + 1] == ']') {
        out += ']';
        ++i;
      }
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

Result<Regex> Regex::compile(std::string_view pattern, std::string_view what) {
  const std::string rewritten = rewrite_oniguruma_for_pcre2(pattern);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(error_code, buffer, sizeof(buffer));
    return format_error(std::string(what) + ": invalid regex '" + std::string(pattern) +
                        "': " + reinterpret_cast<const char*>(buffer) + " (at offset " +
                        std::to_string(error_offset) + " of the PCRE2 form)");
  }
  auto shared = std::make_shared<Code>();
  shared->code = code;
  shared->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  Regex regex;
  regex.code_ = std::move(shared);
  regex.pattern_ = std::string(pattern);
  return regex;
}

Result<std::vector<std::pair<size_t, size_t>>> Regex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_->code, nullptr);
  if (md == nullptr) return resource_exhausted("regex '" + pattern_ + "': out of memory");
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  // The subject is valid UTF-8 (the tokenizer checks it once), so skip PCRE2's own check.
  const uint32_t options = PCRE2_NO_UTF_CHECK;
  while (start <= text.size()) {
    int rc = PCRE2_ERROR_NOMATCH;
    if (code_->jit) {
      rc = pcre2_jit_match(code_->code, subject, text.size(), start, options, md, nullptr);
    }
    // The interpreter keeps its backtracking state on the heap, so it also finishes the matches
    // that overflow the JIT's fixed stack (long whitespace runs under \s+(?!\S)).
    if (!code_->jit || (rc < 0 && rc != PCRE2_ERROR_NOMATCH)) {
      rc = pcre2_match(code_->code, subject, text.size(), start, options, md, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(md);
      PCRE2_UCHAR buffer[256];
      pcre2_get_error_message(rc, buffer, sizeof(buffer));
      return resource_exhausted("regex '" + pattern_ + "' failed at byte " + std::to_string(start) +
                                ": " + reinterpret_cast<const char*>(buffer));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t b = ov[0], e = ov[1];
    matches.emplace_back(b, e);
    if (e > b) {
      start = e;
    } else {
      // An empty match: move on by one code point so the search always advances.
      if (b >= text.size()) break;
      start = b + static_cast<size_t>(utf8::sequence_length(static_cast<uint8_t>(text[b])));
    }
  }
  pcre2_match_data_free(md);
  return matches;
}

}  // namespace xy
