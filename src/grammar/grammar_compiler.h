// Front door of structured output: a request's constraint (JSON Schema, free JSON object,
// regex, a choice among strings, or EBNF text) compiled for one vocabulary, with compiled
// grammars cached by (kind, text) so the automaton's transition and mask caches are shared by
// every request that asks for the same thing.
//
// Thread-safe: the server's handler threads compile, the engine thread matches.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "grammar/compiled_grammar.h"
#include "grammar/json_schema_to_grammar.h"
#include "grammar/token_vocabulary.h"

namespace xy::grammar {

struct GrammarSpec {
  enum class Kind { kJsonSchema, kJsonObject, kRegex, kChoice, kEbnf };
  Kind kind = Kind::kJsonObject;
  std::string text;                  // schema JSON, regex or grammar text
  std::vector<std::string> choices;  // kChoice

  static GrammarSpec json_schema(std::string schema_json) {
    return {Kind::kJsonSchema, std::move(schema_json), {}};
  }
  static GrammarSpec json_object() { return {Kind::kJsonObject, {}, {}}; }
  static GrammarSpec regex(std::string pattern) { return {Kind::kRegex, std::move(pattern), {}}; }
  static GrammarSpec choice(std::vector<std::string> c) {
    return {Kind::kChoice, {}, std::move(c)};
  }
  static GrammarSpec ebnf(std::string text) { return {Kind::kEbnf, std::move(text), {}}; }
  std::string kind_name() const;
};

// The rules of a spec, before lowering to one vocabulary (tests and tools).
Result<std::shared_ptr<const Grammar>> build_grammar(const GrammarSpec& spec,
                                                     const JsonSchemaOptions& options = {});

class GrammarCompiler {
 public:
  explicit GrammarCompiler(std::shared_ptr<const TokenVocabulary> vocab, size_t cache_capacity = 64)
      : vocab_(std::move(vocab)), capacity_(cache_capacity) {}

  // kInvalidArgument for a malformed spec, kUnsupported for features we do not implement.
  Result<std::shared_ptr<const CompiledGrammar>> compile(const GrammarSpec& spec);

  const TokenVocabulary& vocabulary() const { return *vocab_; }
  size_t cache_hits() const;

 private:
  std::shared_ptr<const TokenVocabulary> vocab_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::pair<std::string, std::shared_ptr<const CompiledGrammar>>> lru_;  // front: newest
  std::unordered_map<std::string, decltype(lru_)::iterator> index_;
  size_t hits_ = 0;
};

}  // namespace xy::grammar
