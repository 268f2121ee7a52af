// The grammar expression tree every front end produces (EBNF text, regular expressions, JSON
// Schema): literals, code point classes, sequences, alternatives, bounded or unbounded
// repetition and references to named rules. GrammarBuilder (grammar.h) lowers named expressions
// into the flat byte-level Grammar the matcher runs.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xy::grammar {

struct CodepointRange {
  char32_t lo, hi;  // inclusive
};

struct Expr {
  enum class Kind { kEmpty, kLiteral, kClass, kSeq, kAlt, kRepeat, kRef };
  Kind kind = Kind::kEmpty;
  std::string text;                    // kLiteral: the bytes; kRef: the rule name
  std::vector<CodepointRange> ranges;  // kClass: code points (negated: the complement)
  bool negated = false;
  std::vector<Expr> items;  // kSeq / kAlt: the parts; kRepeat: the one repeated part
  int min = 0, max = -1;    // kRepeat: max -1 = unbounded

  static Expr empty() { return {}; }
  static Expr literal(std::string bytes) {
    Expr e;
    e.kind = Kind::kLiteral;
    e.text = std::move(bytes);
    return e;
  }
  static Expr cls(std::vector<CodepointRange> ranges, bool negated = false) {
    Expr e;
    e.kind = Kind::kClass;
    e.ranges = std::move(ranges);
    e.negated = negated;
    return e;
  }
  static Expr ch(char32_t c) { return cls({{c, c}}); }
  static Expr seq(std::vector<Expr> items) {
    if (items.size() == 1) return std::move(items[0]);
    Expr e;
    e.kind = Kind::kSeq;
    e.items = std::move(items);
    return e;
  }
  static Expr alt(std::vector<Expr> items) {
    if (items.size() == 1) return std::move(items[0]);
    Expr e;
    e.kind = Kind::kAlt;
    e.items = std::move(items);
    return e;
  }
  static Expr repeat(Expr item, int min, int max) {
    Expr e;
    e.kind = Kind::kRepeat;
    e.items.push_back(std::move(item));
    e.min = min;
    e.max = max;
    return e;
  }
  static Expr optional(Expr item) { return repeat(std::move(item), 0, 1); }
  static Expr star(Expr item) { return repeat(std::move(item), 0, -1); }
  static Expr plus(Expr item) { return repeat(std::move(item), 1, -1); }
  static Expr ref(std::string rule) {
    Expr e;
    e.kind = Kind::kRef;
    e.text = std::move(rule);
    return e;
  }
};

// Every Unicode scalar value (surrogates are dropped when a class is lowered).
inline constexpr char32_t kMaxCodepoint = 0x10FFFF;

}  // namespace xy::grammar
