// `tojson` and the printing of lists/dicts, byte-compatible with @huggingface/jinja's
// toJSON (which reproduces Python's json.dumps(ensure_ascii=False) spacing: ", " and ": "
// without indent, "," and ": " with it).
#pragma once

#include <optional>
#include <string>

#include "tokenizer/jinja/value.h"

namespace xy::jinja {

struct JsonDumpOptions {
  int indent = 0;             // spaces per level; 0 prints on one line
  bool ensure_ascii = false;  // escape every UTF-16 unit >= 0x7f as \uXXXX
  bool sort_keys = false;
  std::optional<std::pair<std::string, std::string>> separators;  // (item, key)
  bool undefined_as_null = true;  // printing a list uses "undefined" instead
};

// Throws JinjaError for callables and for nesting deeper than 512 (self-referencing
// values cannot be built, but deep ones can).
std::string json_dump(const Value& v, const JsonDumpOptions& opts);

// JSON.stringify of one string: quotes, escapes \" \\ \b \f \n \r \t and other control
// characters as \u00XX; everything else (UTF-8) is copied.
void json_quote(const std::string& s, bool ensure_ascii, std::string& out);

}  // namespace xy::jinja
