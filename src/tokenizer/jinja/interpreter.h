// Tree-walking evaluator. One Interpreter renders one template once: it owns the scope chain
// and the safety budget, so rendering the same immutable Program from many threads at once
// needs one Interpreter per thread and nothing else.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace xy::jinja {

// A lexical scope: a for-loop body, a macro call, or the globals.
struct Env {
  std::shared_ptr<Env> parent;
  std::vector<std::pair<std::string, Value>> vars;  // few names per scope: linear scan

  const Value* lookup(std::string_view name) const;
  void set(std::string name, Value value);
};

// Bounds that make rendering an untrusted template safe: every one ends the render with an
// error (JinjaError kLimit), never a crash or an unbounded allocation.
struct RenderLimits {
  size_t max_output_bytes = 16u << 20;    // rendered text, bytes
  int64_t max_work_units = 2'000'000;     // loop iterations + created list slots + calls
  size_t max_created_bytes = 256u << 20;  // bytes of all strings built while rendering
  int max_call_depth = 48;                // nested macro / caller calls
};

class Interpreter {
 public:
  // `now` feeds strftime_now(): seconds since the Unix epoch, formatted as UTC.
  Interpreter(RenderLimits limits, std::function<std::time_t()> now);

  // Renders `program` with `globals` as the outermost scope. Throws JinjaError.
  std::string render(const Program& program, std::shared_ptr<Env> globals);

  // Builds the global scope: builtins (namespace, range, raise_exception, strftime_now,
  // true/false/none and their capitalised spellings) plus `context` entries.
  std::shared_ptr<Env> make_globals(const Dict& context);

  // ---- used by builtins (filters, methods) ----
  // Charges `units` of work (iterations, list slots); throws kLimit past the budget.
  void charge_work(int64_t units);
  // Registers a freshly built string of `bytes`; throws kLimit past the budget.
  void charge_string(size_t bytes);
  Value make_string(std::string s) {
    charge_string(s.size());
    return Value::string(std::move(s));
  }
  std::time_t now() const { return now_(); }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_block(const std::vector<StmtPtr>& body, const std::shared_ptr<Env>& env,
                  std::string& out);
  Flow exec(const Stmt& s, const std::shared_ptr<Env>& env, std::string& out);
  void exec_for(const Stmt& s, const std::shared_ptr<Env>& env, std::string& out);
  void exec_set(const Stmt& s, const std::shared_ptr<Env>& env);
  void exec_macro(const Stmt& s, const std::shared_ptr<Env>& env);
  void exec_call_block(const Stmt& s, const std::shared_ptr<Env>& env, std::string& out);
  void append_output(std::string& out, std::string_view text);

  Value eval(const Expr& e, const std::shared_ptr<Env>& env);
  Value eval_inner(const Expr& e, const std::shared_ptr<Env>& env);
  Value eval_binary(const Expr& e, const std::shared_ptr<Env>& env);
  Value eval_member(const Expr& e, const std::shared_ptr<Env>& env);
  Value eval_call(const Expr& e, const std::shared_ptr<Env>& env);
  Value eval_filter(const Expr& e, Value operand, const std::shared_ptr<Env>& env);
  CallArgs eval_args(const std::vector<ExprPtr>& kids, size_t first,
                     const std::shared_ptr<Env>& env);
  Value call_value(const Value& callee, CallArgs& args, const std::shared_ptr<Env>& env,
                   const std::string& what);
  void bind_macro_args(const Stmt& macro, const std::vector<ExprPtr>& params, CallArgs& args,
                       const std::shared_ptr<Env>& scope);

  RenderLimits limits_;
  std::function<std::time_t()> now_;
  int64_t work_ = 0;
  size_t created_bytes_ = 0;
  int call_depth_ = 0;
  int eval_depth_ = 0;
};

}  // namespace xy::jinja
