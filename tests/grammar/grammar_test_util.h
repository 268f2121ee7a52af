// Helpers for the grammar tests: byte-level matching of whole strings, and a vocabulary of the
// 256 single bytes (so a matcher can be driven byte by byte).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "grammar/grammar_compiler.h"
#include "grammar/matcher.h"

namespace xy::grammar::testing {

inline std::shared_ptr<const TokenVocabulary> byte_vocabulary() {
  static const auto v = [] {
    std::vector<std::string> t;
    for (int b = 0; b < 256; ++b) t.push_back(std::string(1, static_cast<char>(b)));
    return TokenVocabulary::from_bytes(std::move(t));
  }();
  return v;
}

// A compiled grammar over single bytes; fails the test on a compile error.
inline std::shared_ptr<const CompiledGrammar> compile_bytes(const GrammarSpec& spec) {
  Result<std::shared_ptr<const Grammar>> g = build_grammar(spec);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  if (!g.is_ok()) return nullptr;
  return std::make_shared<const CompiledGrammar>(*g, byte_vocabulary(), spec.kind_name());
}

// Whether the grammar accepts exactly `text`.
inline bool matches(const std::shared_ptr<const CompiledGrammar>& g, const std::string& text) {
  GrammarMatcher m(g, {});
  return m.accept_bytes(text) && m.can_end();
}

}  // namespace xy::grammar::testing
