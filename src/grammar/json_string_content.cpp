#include "grammar/json_string_content.h"

#include <cstdio>
#include <string>

#include "grammar/utf8_ranges.h"

namespace xy::grammar {
namespace {

bool needs_escape(char32_t c) {
  return c == '"' || c == '\\' || c < 0x20;
}

std::string escape_of(char32_t c) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    default: {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      return buf;
    }
  }
}

}  // namespace

Expr json_string_content(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kEmpty:
    case Expr::Kind::kRef:
      return e;
    case Expr::Kind::kLiteral: {
      // Literal bytes are UTF-8; only ASCII bytes can need escaping.
      std::string out;
      for (char c : e.text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80 && needs_escape(u)) {
          out += escape_of(u);
        } else {
          out += c;
        }
      }
      return Expr::literal(std::move(out));
    }
    case Expr::Kind::kClass: {
      const std::vector<CodepointRange> ranges = normalize_class(e.ranges, e.negated);
      std::vector<CodepointRange> raw;
      std::vector<Expr> alts;
      for (const CodepointRange& r : ranges) {
        for (char32_t c = r.lo; c <= r.hi && c < 0x20; ++c)
          alts.push_back(Expr::literal(escape_of(c)));
        for (char32_t c : {U'"', U'\\'}) {
          if (r.lo <= c && c <= r.hi) alts.push_back(Expr::literal(escape_of(c)));
        }
        // The range minus the escaped characters.
        char32_t lo = std::max<char32_t>(r.lo, 0x20);
        for (char32_t cut : {U'"', U'\\'}) {
          if (lo > r.hi) break;
          if (cut >= lo && cut <= r.hi) {
            if (cut > lo) raw.push_back({lo, cut - 1});
            lo = cut + 1;
          }
        }
        if (lo <= r.hi) raw.push_back({lo, r.hi});
      }
      if (!raw.empty()) alts.insert(alts.begin(), Expr::cls(std::move(raw)));
      if (alts.empty()) return Expr::cls({});  // matches nothing
      return Expr::alt(std::move(alts));
    }
    case Expr::Kind::kSeq:
    case Expr::Kind::kAlt:
    case Expr::Kind::kRepeat: {
      Expr out = e;
      for (Expr& item : out.items) item = json_string_content(item);
      return out;
    }
  }
  return e;
}

}  // namespace xy::grammar
