#include "tokenizer/jinja/json_dump.h"

#include <algorithm>
#include <cstdio>

#include "tokenizer/jinja/error.h"

namespace xy::jinja {
namespace {

constexpr int kMaxJsonDepth = 512;

void append_u_escape(unsigned unit, std::string& out) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", unit & 0xFFFFu);
  out += buf;
}

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i. Invalid bytes
// decode as themselves (they cannot come from JSON input, only from template literals).
unsigned decode_utf8(const std::string& s, size_t& i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (i + len > s.size()) len = 1;
  if (len == 1) {
    ++i;
    return c;
  }
  unsigned cp = c & (0x7F >> len);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

void dump(const Value& v, const JsonDumpOptions& o, int depth, std::string& out) {
  if (depth > kMaxJsonDepth) throw_runtime("tojson: value nested deeper than 512 levels");
  const std::string item_sep = o.separators ? o.separators->first : (o.indent > 0 ? "," : ", ");
  const std::string key_sep = o.separators ? o.separators->second : ": ";
  switch (v.kind()) {
    case ValueKind::kNone:
      out += "null";
      return;
    case ValueKind::kUndefined:
      out += o.undefined_as_null ? "null" : "undefined";
      return;
    case ValueKind::kBool:
      out += v.as_bool() ? "true" : "false";
      return;
    case ValueKind::kInt:
      out += std::to_string(v.as_int());
      return;
    case ValueKind::kFloat: {
      const std::string s = js_number_to_string(v.as_float());
      out += (s == "NaN" || s == "Infinity" || s == "-Infinity") ? "null" : s;
      return;
    }
    case ValueKind::kString:
      json_quote(v.as_string(), o.ensure_ascii, out);
      return;
    case ValueKind::kCallable:
      throw_runtime("tojson: cannot convert a callable to JSON");
    case ValueKind::kList:
    case ValueKind::kDict:
      break;
  }
  const std::string pad_unit(o.indent > 0 ? o.indent : 0, ' ');
  std::string base_pad = "\n";
  for (int i = 0; i < depth; ++i) base_pad += pad_unit;
  const std::string child_pad = base_pad + pad_unit;
  if (v.is_list()) {
    const List& items = v.as_list();
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += item_sep;
      if (o.indent > 0) out += child_pad;
      dump(items[i], o, depth + 1, out);
    }
    if (o.indent > 0 && !items.empty()) out += base_pad;
    out += ']';
    return;
  }
  std::vector<const std::pair<std::string, Value>*> entries;
  for (const auto& e : v.as_dict().entries) entries.push_back(&e);
  if (o.sort_keys) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto* a, const auto* b) { return a->first < b->first; });
  }
  out += '{';
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += item_sep;
    if (o.indent > 0) out += child_pad;
    json_quote(entries[i]->first, o.ensure_ascii, out);
    out += key_sep;
    dump(entries[i]->second, o, depth + 1, out);
  }
  if (o.indent > 0 && !entries.empty()) out += base_pad;
  out += '}';
}

}  // namespace

void json_quote(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      append_u_escape(c, out);
      ++i;
      continue;
    }
    if (!ensure_ascii || c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const unsigned cp = decode_utf8(s, i);
    if (cp >= 0x10000) {  // JS escapes each UTF-16 surrogate separately
      const unsigned v = cp - 0x10000;
      append_u_escape(0xD800 + (v >> 10), out);
      append_u_escape(0xDC00 + (v & 0x3FF), out);
    } else {
      append_u_escape(cp, out);
    }
  }
  out += '"';
}

std::string json_dump(const Value& v, const JsonDumpOptions& opts) {
  std::string out;
  dump(v, opts, 0, out);
  return out;
}

}  // namespace xy::jinja
