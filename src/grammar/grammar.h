// The compiled form of every grammar: a flat, byte-level context-free grammar.
//
// Each rule is a list of alternatives; each alternative is a run of elements in one array,
// closed by a kEnd element, so a parser position is just an index into that array. Elements are
// byte sets (terminals) or rule references. Front ends build named Expr rules and GrammarBuilder
// lowers them: literals to byte elements, code point classes to UTF-8 byte-range alternatives,
// alternation and repetition to auxiliary rules (x* -> S ::= x S | ε, right-recursive so the
// matcher's stacks do not grow with the repetition count). Left recursion is rejected at build
// time with the rule's name, which is what keeps the matcher's closure finite.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "grammar/byte_set.h"
#include "grammar/expr.h"

namespace xy::grammar {

enum class ElementKind : uint8_t { kBytes, kRule, kEnd };

struct Element {
  ElementKind kind;
  int32_t arg;  // kBytes: byte-set index; kRule: rule index; kEnd: the rule it closes
};

class Grammar {
 public:
  int root() const { return root_; }
  int num_rules() const { return static_cast<int>(rules_.size()); }
  const Element& element(int32_t pos) const { return elements_[static_cast<size_t>(pos)]; }
  const ByteSet& byte_set(int32_t index) const { return byte_sets_[static_cast<size_t>(index)]; }
  // Start positions of the rule's alternatives.
  std::span<const int32_t> alternatives(int rule) const { return rules_[rule].starts; }
  const std::string& rule_name(int rule) const { return rules_[rule].name; }
  size_t num_elements() const { return elements_.size(); }

 private:
  friend class GrammarBuilder;
  struct Rule {
    std::string name;
    std::vector<int32_t> starts;
  };
  std::vector<Element> elements_;
  std::vector<ByteSet> byte_sets_;
  std::vector<Rule> rules_;
  int root_ = 0;
};

class GrammarBuilder {
 public:
  // Repetition counts above this are refused (they would unroll into that many rules).
  static constexpr int kMaxRepeat = 10000;
  // Grammars past this many elements are refused (a request must not exhaust memory).
  static constexpr size_t kMaxElements = size_t{1} << 21;

  // Defines a named rule; redefining one is an error at build().
  void define(const std::string& name, Expr body);
  bool has_rule(const std::string& name) const { return bodies_.count(name) != 0; }
  // A rule name not used yet, derived from `hint`.
  std::string fresh_name(std::string_view hint);

  // Lowers every rule reachable from `root`. Errors (kInvalidArgument): an undefined rule
  // reference, a rule defined twice, left recursion, a repetition bound out of range.
  Result<std::shared_ptr<const Grammar>> build(const std::string& root);

 private:
  struct Lowering;
  std::map<std::string, Expr> bodies_;
  std::vector<std::string> order_;  // definition order
  std::vector<std::string> duplicates_;
  int next_fresh_ = 0;
};

}  // namespace xy::grammar
