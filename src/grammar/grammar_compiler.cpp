#include "grammar/grammar_compiler.h"

#include "grammar/ebnf_parser.h"
#include "grammar/regex_to_grammar.h"

namespace xy::grammar {

std::string GrammarSpec::kind_name() const {
  switch (kind) {
    case Kind::kJsonSchema:
      return "json_schema";
    case Kind::kJsonObject:
      return "json_object";
    case Kind::kRegex:
      return "regex";
    case Kind::kChoice:
      return "choice";
    case Kind::kEbnf:
      return "grammar";
  }
  return "?";
}

Result<std::shared_ptr<const Grammar>> build_grammar(const GrammarSpec& spec,
                                                     const JsonSchemaOptions& options) {
  GrammarBuilder b;
  switch (spec.kind) {
    case GrammarSpec::Kind::kJsonSchema: {
      nlohmann::ordered_json schema;
      try {
        schema = nlohmann::ordered_json::parse(spec.text);
      } catch (const nlohmann::json::exception& e) {
        return invalid_argument(std::string("json_schema: not valid JSON: ") + e.what());
      }
      XY_RETURN_IF_ERROR(json_schema_rules(schema, options, b, "root"));
      break;
    }
    case GrammarSpec::Kind::kJsonObject:
      json_object_rules(b, "root", options);
      break;
    case GrammarSpec::Kind::kRegex: {
      Result<RegexExpr> re = regex_to_expr(spec.text);
      if (!re.is_ok()) return re.status();
      b.define("root", std::move(re->expr));
      break;
    }
    case GrammarSpec::Kind::kChoice: {
      if (spec.choices.empty()) return invalid_argument("choice: the list of choices is empty");
      std::vector<Expr> alts;
      for (const std::string& c : spec.choices) {
        if (c.empty()) return invalid_argument("choice: an empty string is not a valid choice");
        alts.push_back(Expr::literal(c));
      }
      b.define("root", Expr::alt(std::move(alts)));
      break;
    }
    case GrammarSpec::Kind::kEbnf:
      XY_RETURN_IF_ERROR(parse_ebnf(spec.text, b));
      break;
  }
  return b.build("root");
}

Result<std::shared_ptr<const CompiledGrammar>> GrammarCompiler::compile(const GrammarSpec& spec) {
  std::string key = spec.kind_name() + '\0' + spec.text;
  for (const std::string& c : spec.choices) key += '\0' + c;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++hits_;
      return it->second->second;
    }
  }
  XY_ASSIGN_OR_RETURN(std::shared_ptr<const Grammar> g, build_grammar(spec));
  auto compiled = std::make_shared<const CompiledGrammar>(std::move(g), vocab_, spec.kind_name());
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) return it->second->second;  // compiled concurrently
  lru_.emplace_front(key, compiled);
  index_[key] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return std::shared_ptr<const CompiledGrammar>(compiled);
}

size_t GrammarCompiler::cache_hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

}  // namespace xy::grammar
