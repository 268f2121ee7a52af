// Syntax tree of a parsed template. Nodes are immutable after parsing, so one parsed
// template can be rendered by many threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/value.h"

namespace xy::jinja {

enum class ExprKind {
  kLiteral,     // literal
  kIdentifier,  // name
  kList,        // kids = items
  kTuple,       // kids = items
  kDict,        // kids = key0, value0, key1, value1, ...
  kMember,      // kids = object, property (a kSlice for obj[a:b:c]); flag = computed ([...])
  kSlice,       // kids = start, stop, step (each may be null)
  kCall,        // kids = callee, args...
  kKeywordArg,  // name = keyword, kids = value
  kSpread,      // *expr in a call; kids = expr
  kKwSpread,    // **expr in a call; kids = expr
  kFilter,      // kids = operand, args...; name = filter; flag = written with parentheses
  kTest,        // kids = operand, args...; name = test; flag = negated ("is not")
  kUnary,       // name = "not" | "-" | "+"; kids = operand
  kBinary,      // name = operator; kids = left, right
  kSelect,      // `a if cond` without else; kids = value, cond
  kTernary,     // `a if cond else b`; kids = cond, a, b
};

struct Expr {
  ExprKind kind;
  SourcePos pos;
  std::string name;
  Value literal;
  bool flag = false;
  std::vector<std::unique_ptr<Expr>> kids;  // null entries only in kSlice
};
using ExprPtr = std::unique_ptr<Expr>;

enum class StmtKind {
  kText,       // text = raw template text
  kOutput,     // {{ expr }}; expr
  kIf,         // expr = test; body; alt = else branch (an elif is a nested kIf)
  kFor,        // target = loop variable(s); expr = iterable; test = inline `if` or null; body; alt
  kSet,        // target; expr = value, or null and body for {% set x %}...{% endset %}
  kMacro,      // text = name; params (kIdentifier or kKeywordArg with default); body
  kCallBlock,  // expr = the kCall; params = caller's parameters; body
  kFilterBlock,  // expr = a kFilter whose operand slot (kids[0]) is null; body
  kBreak,
  kContinue,
};

struct Stmt {
  StmtKind kind;
  SourcePos pos;
  std::string text;
  ExprPtr target;
  ExprPtr expr;
  ExprPtr test;
  std::vector<ExprPtr> params;
  std::vector<std::unique_ptr<Stmt>> body;
  std::vector<std::unique_ptr<Stmt>> alt;
};
using StmtPtr = std::unique_ptr<Stmt>;

struct Program {
  std::vector<StmtPtr> body;
};

}  // namespace xy::jinja
