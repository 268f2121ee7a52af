#include "tokenizer/jinja/interpreter.h"

#include <cmath>
#include <limits>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/filters.h"
#include "tokenizer/jinja/methods.h"
#include "tokenizer/jinja/value_tests.h"

namespace xy::jinja {
namespace {

// Expression nesting is bounded by the parser; this bounds evaluation recursion through
// macros (each macro call re-enters eval from the top).
constexpr int kMaxEvalDepth = 2000;

[[noreturn]] void limit_error(const std::string& msg) {
  throw JinjaError(JinjaError::Kind::kLimit, msg);
}

// Text of a value as JS `value.toString()` gives it inside `~` and string `+`.
std::string concat_text(const Value& v) {
  if (v.is_float()) return js_number_to_string(v.as_float());
  return v.to_output();
}

// Numbers follow JS: ints stay exact up to 2^53; past that (or on int64 overflow) the
// double result is kept, still an integer when both operands were.
Value arithmetic(const std::string& op, const Value& l, const Value& r) {
  const bool integral = l.is_integral() && r.is_integral();
  if (op == "/") {
    if (r.as_number() == 0.0) throw_runtime("division by zero");
    return Value::floating(l.as_number() / r.as_number());
  }
  if (l.is_int() && r.is_int()) {
    const int64_t a = l.as_int(), b = r.as_int();
    int64_t res = 0;
    bool overflow = false;
    if (op == "+") {
      overflow = __builtin_add_overflow(a, b, &res);
    } else if (op == "-") {
      overflow = __builtin_sub_overflow(a, b, &res);
    } else if (op == "*") {
      overflow = __builtin_mul_overflow(a, b, &res);
    } else {  // "//" or "%"
      if (b == 0) throw_runtime(op == "%" ? "modulo by zero" : "division by zero");
      if (op == "//") {
        res = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) --res;  // floor, as Math.floor(a / b)
      } else {
        res = a % b;  // JS remainder: sign of the dividend
      }
    }
    if (!overflow) return Value::js_integer(static_cast<double>(res));
  }
  const double a = l.as_number(), b = r.as_number();
  double res;
  if (op == "+") {
    res = a + b;
  } else if (op == "-") {
    res = a - b;
  } else if (op == "*") {
    res = a * b;
  } else {
    if (b == 0.0) throw_runtime(op == "%" ? "modulo by zero" : "division by zero");
    res = op == "//" ? std::floor(a / b) : std::fmod(a, b);
  }
  return integral && std::isfinite(res) ? Value::js_integer(res) : Value::floating(res);
}

bool contains_value(const Value& haystack, const Value& needle, int depth) {
  if (depth > 64) return true;  // too deep to prove acyclic: refuse the assignment
  if (haystack.is_dict()) {
    if (needle.is_dict() && &haystack.as_dict() == &needle.as_dict()) return true;
    for (const auto& e : haystack.as_dict().entries) {
      if (contains_value(e.second, needle, depth + 1)) return true;
    }
  } else if (haystack.is_list()) {
    for (const Value& v : haystack.as_list()) {
      if (contains_value(v, needle, depth + 1)) return true;
    }
  }
  return false;
}

}  // namespace

const Value* Env::lookup(std::string_view name) const {
  for (const Env* e = this; e != nullptr; e = e->parent.get()) {
    for (const auto& [k, v] : e->vars) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

void Env::set(std::string name, Value value) {
  for (auto& [k, v] : vars) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars.emplace_back(std::move(name), std::move(value));
}

Interpreter::Interpreter(RenderLimits limits, std::function<std::time_t()> now)
    : limits_(limits), now_(std::move(now)) {}

void Interpreter::charge_work(int64_t units) {
  work_ += units;
  if (work_ > limits_.max_work_units) {
    limit_error("render exceeded " + std::to_string(limits_.max_work_units) +
                " work units (loop iterations, list items, calls)");
  }
}

void Interpreter::charge_string(size_t bytes) {
  created_bytes_ += bytes;
  if (bytes > limits_.max_output_bytes || created_bytes_ > limits_.max_created_bytes) {
    limit_error("render built more than the allowed string bytes");
  }
}

std::string Interpreter::render(const Program& program, std::shared_ptr<Env> globals) {
  std::string out;
  const Flow flow = exec_block(program.body, globals, out);
  if (flow != Flow::kNormal) throw_runtime("'break' or 'continue' outside a loop");
  return out;
}

void Interpreter::append_output(std::string& out, std::string_view text) {
  if (out.size() + text.size() > limits_.max_output_bytes) {
    limit_error("rendered output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
  out.append(text);
}

Interpreter::Flow Interpreter::exec_block(const std::vector<StmtPtr>& body,
                                          const std::shared_ptr<Env>& env, std::string& out) {
  for (const StmtPtr& s : body) {
    const Flow f = exec(*s, env, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, const std::shared_ptr<Env>& env,
                                    std::string& out) {
  try {
    switch (s.kind) {
      case StmtKind::kText:
        append_output(out, s.text);
        break;
      case StmtKind::kOutput: {
        const Value v = eval(*s.expr, env);
        if (v.is_string()) {
          append_output(out, v.as_string());
        } else if (!v.is_none() && !v.is_undefined()) {
          const std::string text = v.to_output();
          append_output(out, text);
        }
        break;
      }
      case StmtKind::kIf: {
        const Value test = eval(*s.expr, env);
        return exec_block(test.truthy() ? s.body : s.alt, env, out);
      }
      case StmtKind::kFor:
        exec_for(s, env, out);
        break;
      case StmtKind::kSet:
        exec_set(s, env);
        break;
      case StmtKind::kMacro:
        exec_macro(s, env);
        break;
      case StmtKind::kCallBlock:
        exec_call_block(s, env, out);
        break;
      case StmtKind::kFilterBlock: {
        std::string body;
        const Flow f = exec_block(s.body, env, body);
        if (f != Flow::kNormal) throw_runtime("'break' or 'continue' inside a filter block");
        charge_string(body.size());
        const Expr& fe = *s.expr;
        CallArgs args = eval_args(fe.kids, 1, env);
        const Value v = apply_filter(*this, fe.name, Value::string(std::move(body)), args, fe.flag);
        if (!v.is_none() && !v.is_undefined()) append_output(out, v.to_output());
        break;
      }
      case StmtKind::kBreak:
        return Flow::kBreak;
      case StmtKind::kContinue:
        return Flow::kContinue;
    }
  } catch (JinjaError& e) {
    if (e.pos.line == 0) e.pos = s.pos;
    throw;
  }
  return Flow::kNormal;
}

void Interpreter::exec_for(const Stmt& s, const std::shared_ptr<Env>& env, std::string& out) {
  auto scope = std::make_shared<Env>();
  scope->parent = env;
  Value iterable = eval(*s.expr, scope);
  if (iterable.is_dict() && !iterable.is_namespace()) iterable = dict_keys(iterable.as_dict());
  if (!iterable.is_list()) {
    throw JinjaError(
        JinjaError::Kind::kRuntime,
        std::string("cannot iterate over a ") + iterable.type_name() + " in a for loop",
        s.expr->pos);
  }
  const List source = iterable.as_list();  // a snapshot: the body may rebind the name
  const Expr& target = *s.target;
  auto bind = [&](Env& e, const Value& item) {
    if (target.kind == ExprKind::kIdentifier) {
      e.set(target.name, item);
      return;
    }
    if (!item.is_list())
      throw_runtime(std::string("cannot unpack a ") + item.type_name() + " in a for loop");
    const List& parts = item.as_list();
    if (parts.size() != target.kids.size()) {
      throw_runtime(std::string("too ") + (parts.size() < target.kids.size() ? "few" : "many") +
                    " items to unpack in a for loop");
    }
    for (size_t j = 0; j < parts.size(); ++j) e.set(target.kids[j]->name, parts[j]);
  };
  std::vector<const Value*> items;
  items.reserve(source.size());
  for (const Value& item : source) {
    charge_work(1);
    if (s.test) {
      auto probe = std::make_shared<Env>();
      probe->parent = scope;
      bind(*probe, item);
      if (!eval(*s.test, probe).truthy()) continue;
    }
    items.push_back(&item);
  }
  const int64_t n = static_cast<int64_t>(items.size());
  bool iterated = false;
  for (int64_t i = 0; i < n; ++i) {
    charge_work(1);
    Dict loop;
    loop.entries.reserve(9);
    loop.set("index", Value::integer(i + 1));
    loop.set("index0", Value::integer(i));
    loop.set("revindex", Value::integer(n - i));
    loop.set("revindex0", Value::integer(n - i - 1));
    loop.set("first", Value::boolean(i == 0));
    loop.set("last", Value::boolean(i == n - 1));
    loop.set("length", Value::integer(n));
    loop.set("previtem", i > 0 ? *items[i - 1] : Value());
    loop.set("nextitem", i < n - 1 ? *items[i + 1] : Value());
    scope->set("loop", Value::dict(std::move(loop)));
    bind(*scope, *items[i]);
    const Flow f = exec_block(s.body, scope, out);
    if (f == Flow::kContinue) continue;  // like @huggingface/jinja: does not count as iterated
    if (f == Flow::kBreak) break;
    iterated = true;
  }
  if (!iterated) {
    const Flow f = exec_block(s.alt, scope, out);
    if (f != Flow::kNormal) throw_runtime("'break' or 'continue' in a for-else block");
  }
}

void Interpreter::exec_set(const Stmt& s, const std::shared_ptr<Env>& env) {
  Value rhs;
  if (s.expr) {
    rhs = eval(*s.expr, env);
  } else {
    std::string body;
    if (exec_block(s.body, env, body) != Flow::kNormal)
      throw_runtime("'break' or 'continue' inside a set block");
    charge_string(body.size());
    rhs = Value::string(std::move(body));
  }
  const Expr& t = *s.target;
  if (t.kind == ExprKind::kIdentifier) {
    env->set(t.name, std::move(rhs));
  } else if (t.kind == ExprKind::kTuple) {
    if (!rhs.is_list())
      throw_runtime(std::string("cannot unpack a ") + rhs.type_name() + " in set");
    const List& parts = rhs.as_list();
    if (parts.size() != t.kids.size()) {
      throw_runtime(std::string("too ") + (parts.size() < t.kids.size() ? "few" : "many") +
                    " items to unpack in set");
    }
    for (size_t i = 0; i < parts.size(); ++i) env->set(t.kids[i]->name, parts[i]);
  } else {  // ns.attr, checked by the parser
    Value object = eval(*t.kids[0], env);
    if (!object.is_namespace()) {
      throw_runtime(std::string("cannot assign an attribute of a ") + object.type_name() +
                    " (only of a namespace)");
    }
    // Reference semantics would let a namespace contain itself; refuse to build the cycle.
    if (contains_value(rhs, object, 0)) throw_runtime("cannot store a namespace inside itself");
    object.as_dict().set(t.kids[1]->literal.as_string(), std::move(rhs));
  }
}

void Interpreter::bind_macro_args(const Stmt& macro, const std::vector<ExprPtr>& params,
                                  CallArgs& args, const std::shared_ptr<Env>& scope) {
  std::vector<std::pair<std::string, Value>> kwargs = args.keyword;
  std::vector<const Expr*> pending_defaults;
  for (size_t i = 0; i < params.size(); ++i) {
    const Expr& p = *params[i];
    Value v;
    bool have = false;
    if (i < args.positional.size()) {
      v = args.positional[i];
      have = true;
    } else {
      for (auto it = kwargs.begin(); it != kwargs.end(); ++it) {
        if (it->first == p.name) {
          v = it->second;
          have = true;
          kwargs.erase(it);
          break;
        }
      }
    }
    if (!have && p.kind == ExprKind::kKeywordArg) pending_defaults.push_back(&p);
    scope->set(p.name, std::move(v));
  }
  // Extra arguments stay reachable as Jinja's `varargs` and `kwargs`.
  List extra;
  for (size_t i = params.size(); i < args.positional.size(); ++i)
    extra.push_back(args.positional[i]);
  scope->set("varargs", Value::list(std::move(extra)));
  Dict kw;
  for (auto& [k, v] : kwargs) kw.set(k, v);
  scope->set("kwargs", Value::dict(std::move(kw)));
  for (const Expr* p : pending_defaults) scope->set(p->name, eval(*p->kids[0], scope));
  (void)macro;
}

void Interpreter::exec_macro(const Stmt& s, const std::shared_ptr<Env>& env) {
  const Stmt* node = &s;
  env->set(s.text, Value::callable(s.text, [node](Interpreter& in, CallArgs& args,
                                                  const std::shared_ptr<Env>& site) {
             auto scope = std::make_shared<Env>();
             scope->parent = site;
             in.bind_macro_args(*node, node->params, args, scope);
             std::string body;
             if (in.exec_block(node->body, scope, body) != Flow::kNormal) {
               throw_runtime("'break' or 'continue' outside a loop in macro '" + node->text + "'");
             }
             in.charge_string(body.size());
             return Value::string(std::move(body));
           }));
}

void Interpreter::exec_call_block(const Stmt& s, const std::shared_ptr<Env>& env,
                                  std::string& out) {
  const Stmt* node = &s;
  std::shared_ptr<Env> def_env = env;
  Value caller = Value::callable("caller", [node, def_env](Interpreter& in, CallArgs& args, auto&) {
    auto scope = std::make_shared<Env>();
    scope->parent = def_env;
    in.bind_macro_args(*node, node->params, args, scope);
    std::string body;
    if (in.exec_block(node->body, scope, body) != Flow::kNormal)
      throw_runtime("'break' or 'continue' in a call block");
    in.charge_string(body.size());
    return Value::string(std::move(body));
  });
  const Expr& call = *s.expr;
  CallArgs args = eval_args(call.kids, 1, env);
  const Value fn = eval(*call.kids[0], env);
  auto site = std::make_shared<Env>();
  site->parent = env;
  site->set("caller", std::move(caller));
  const Value v = call_value(fn, args, site, call.kids[0]->name);
  if (!v.is_none() && !v.is_undefined()) append_output(out, v.to_output());
}

Value Interpreter::call_value(const Value& callee, CallArgs& args, const std::shared_ptr<Env>& env,
                              const std::string& what) {
  if (!callee.is_callable()) {
    throw_runtime("'" + what + "' is not callable (it is " +
                  (callee.is_undefined() ? "undefined" : std::string("a ") + callee.type_name()) +
                  ")");
  }
  if (++call_depth_ > limits_.max_call_depth) {
    --call_depth_;
    limit_error("calls nested deeper than " + std::to_string(limits_.max_call_depth));
  }
  charge_work(1);
  struct Unwind {
    int* depth;
    ~Unwind() { --*depth; }
  } unwind{&call_depth_};
  return callee.as_callable().fn(*this, args, env);
}

CallArgs Interpreter::eval_args(const std::vector<ExprPtr>& kids, size_t first,
                                const std::shared_ptr<Env>& env) {
  CallArgs a;
  for (size_t i = first; i < kids.size(); ++i) {
    const Expr& k = *kids[i];
    if (k.kind == ExprKind::kSpread) {
      const Value v = eval(*k.kids[0], env);
      if (!v.is_list())
        throw JinjaError(JinjaError::Kind::kRuntime,
                         std::string("cannot unpack a ") + v.type_name(), k.pos);
      charge_work(static_cast<int64_t>(v.as_list().size()));
      for (const Value& x : v.as_list()) a.positional.push_back(x);
    } else if (k.kind != ExprKind::kKeywordArg && k.kind != ExprKind::kKwSpread) {
      a.positional.push_back(eval(k, env));
    }
  }
  auto add_kw = [&](const std::string& name, Value v, SourcePos pos) {
    if (a.kwarg(name))
      throw JinjaError(JinjaError::Kind::kRuntime, "keyword argument '" + name + "' given twice",
                       pos);
    a.keyword.emplace_back(name, std::move(v));
  };
  for (size_t i = first; i < kids.size(); ++i) {
    const Expr& k = *kids[i];
    if (k.kind == ExprKind::kKeywordArg) {
      add_kw(k.name, eval(*k.kids[0], env), k.pos);
    } else if (k.kind == ExprKind::kKwSpread) {
      const Value v = eval(*k.kids[0], env);
      if (!v.is_dict())
        throw JinjaError(JinjaError::Kind::kRuntime, "argument after ** must be a dict", k.pos);
      charge_work(static_cast<int64_t>(v.as_dict().entries.size()));
      for (const auto& [name, x] : v.as_dict().entries) add_kw(name, x, k.pos);
    }
  }
  return a;
}

Value Interpreter::eval(const Expr& e, const std::shared_ptr<Env>& env) {
  if (++eval_depth_ > kMaxEvalDepth) {
    --eval_depth_;
    throw JinjaError(JinjaError::Kind::kLimit, "evaluation nested too deeply", e.pos);
  }
  struct Unwind {
    int* depth;
    ~Unwind() { --*depth; }
  } unwind{&eval_depth_};
  try {
    return eval_inner(e, env);
  } catch (JinjaError& err) {
    if (err.pos.line == 0) err.pos = e.pos;
    throw;
  }
}

Value Interpreter::eval_inner(const Expr& e, const std::shared_ptr<Env>& env) {
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.literal;
    case ExprKind::kIdentifier: {
      const Value* v = env->lookup(e.name);
      return v ? *v : Value();
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      List items;
      items.reserve(e.kids.size());
      charge_work(static_cast<int64_t>(e.kids.size()));
      for (const ExprPtr& k : e.kids) items.push_back(eval(*k, env));
      return Value::list(std::move(items), e.kind == ExprKind::kTuple);
    }
    case ExprKind::kDict: {
      Dict d;
      charge_work(static_cast<int64_t>(e.kids.size() / 2));
      for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
        const Value key = eval(*e.kids[i], env);
        if (!key.is_string())
          throw JinjaError(JinjaError::Kind::kRuntime, "dict keys must be strings", e.kids[i]->pos);
        d.set(key.as_string(), eval(*e.kids[i + 1], env));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::kMember:
      return eval_member(e, env);
    case ExprKind::kCall:
      return eval_call(e, env);
    case ExprKind::kFilter:
      return eval_filter(e, eval(*e.kids[0], env), env);
    case ExprKind::kTest: {
      const Value v = eval(*e.kids[0], env);
      std::vector<Value> args;
      for (size_t i = 1; i < e.kids.size(); ++i) args.push_back(eval(*e.kids[i], env));
      const bool r = apply_test(e.name, v, args);
      return Value::boolean(e.flag ? !r : r);
    }
    case ExprKind::kUnary: {
      const Value v = eval(*e.kids[0], env);
      if (e.name == "not") return Value::boolean(!v.truthy());
      if (v.is_int()) {
        if (e.name == "-" && v.as_int() == INT64_MIN) return Value::floating(-v.as_number());
        return Value::integer(e.name == "-" ? -v.as_int() : v.as_int());
      }
      if (v.is_bool())
        return Value::integer(e.name == "-" ? -int64_t{v.as_bool()} : int64_t{v.as_bool()});
      if (v.is_big_int()) return Value::js_integer(e.name == "-" ? -v.as_float() : v.as_float());
      if (v.is_float()) return Value::floating(e.name == "-" ? -v.as_float() : v.as_float());
      throw_runtime("unary '" + e.name + "' needs a number, got a " + v.type_name());
    }
    case ExprKind::kBinary:
      return eval_binary(e, env);
    case ExprKind::kSelect: {
      if (!eval(*e.kids[1], env).truthy()) return Value();
      return eval(*e.kids[0], env);
    }
    case ExprKind::kTernary:
      return eval(*e.kids[0], env).truthy() ? eval(*e.kids[1], env) : eval(*e.kids[2], env);
    case ExprKind::kSlice:
    case ExprKind::kKeywordArg:
    case ExprKind::kSpread:
    case ExprKind::kKwSpread:
      break;
  }
  throw_runtime("this expression is only valid inside a subscript or a call");
}

Value Interpreter::eval_binary(const Expr& e, const std::shared_ptr<Env>& env) {
  const std::string& op = e.name;
  const Value l = eval(*e.kids[0], env);
  if (op == "and") return l.truthy() ? eval(*e.kids[1], env) : l;
  if (op == "or") return l.truthy() ? l : eval(*e.kids[1], env);
  const Value r = eval(*e.kids[1], env);
  if (op == "==") return Value::boolean(l.loose_equals(r));
  if (op == "!=") return Value::boolean(!l.loose_equals(r));
  const bool membership = op == "in" || op == "not in";
  if (l.is_undefined() || r.is_undefined()) {
    if (r.is_undefined() && membership) return Value::boolean(op == "not in");
    throw_runtime("cannot apply '" + op + "' to an undefined value");
  }
  if (l.is_none() || r.is_none()) throw_runtime("cannot apply '" + op + "' to none");
  if (op == "~") {
    std::string s = concat_text(l) + concat_text(r);
    return make_string(std::move(s));
  }
  if (op == "**" && (l.is_number() || l.is_bool()) && (r.is_number() || r.is_bool())) {
    const double a = l.as_number(), b = r.as_number();
    if (a == 0 && b < 0) throw_runtime("0.0 cannot be raised to a negative power");
    const double res = std::pow(a, b);
    if (!std::isfinite(res)) throw_runtime("exponentiation result is not finite");
    if ((l.is_float() && !l.is_big_int()) || (r.is_float() && !r.is_big_int()) || b < 0)
      return Value::floating(res);
    return Value::js_integer(res);
  }
  if (l.is_number() && r.is_number()) {
    if (op == "<") return Value::boolean(l.as_number() < r.as_number());
    if (op == ">") return Value::boolean(l.as_number() > r.as_number());
    if (op == "<=") return Value::boolean(l.as_number() <= r.as_number());
    if (op == ">=") return Value::boolean(l.as_number() >= r.as_number());
    if (op == "+" || op == "-" || op == "*" || op == "/" || op == "//" || op == "%")
      return arithmetic(op, l, r);
  } else if (l.is_list() && r.is_list()) {
    if (op == "+") {
      charge_work(static_cast<int64_t>(l.as_list().size() + r.as_list().size()));
      List joined = l.as_list();
      joined.insert(joined.end(), r.as_list().begin(), r.as_list().end());
      return Value::list(std::move(joined));
    }
  } else if (r.is_list() && membership) {
    charge_work(static_cast<int64_t>(r.as_list().size()));
    bool found = false;
    for (const Value& x : r.as_list()) found = found || x.same_scalar(l);
    return Value::boolean(found == (op == "in"));
  }
  if ((l.is_string() || r.is_string()) && op == "+")
    return make_string(concat_text(l) + concat_text(r));
  if (l.is_string() && r.is_string() && membership) {
    return Value::boolean((r.as_string().find(l.as_string()) != std::string::npos) == (op == "in"));
  }
  if (l.is_string() && r.is_dict() && !r.is_namespace() && membership) {
    return Value::boolean((r.as_dict().find(l.as_string()) != nullptr) == (op == "in"));
  }
  throw_runtime("unsupported operator '" + op + "' between a " + l.type_name() + " and a " +
                r.type_name());
}

Value Interpreter::eval_member(const Expr& e, const std::shared_ptr<Env>& env) {
  const Value object = eval(*e.kids[0], env);
  const Expr& prop_expr = *e.kids[1];
  if (prop_expr.kind == ExprKind::kSlice) {
    if (!object.is_list() && !object.is_string()) {
      throw_runtime(std::string("cannot slice a ") + object.type_name());
    }
    int64_t part[3] = {0, 0, 1};
    bool given[3] = {false, false, false};
    for (int i = 0; i < 3; ++i) {
      if (!prop_expr.kids[i]) continue;
      const Value v = eval(*prop_expr.kids[i], env);
      if (v.is_undefined()) continue;
      if (!v.is_int()) throw_runtime("slice bounds must be integers");
      part[i] = v.as_int();
      given[i] = true;
    }
    std::vector<std::string> chars;
    if (object.is_string()) chars = utf8_chars(object.as_string());
    const int64_t len = object.is_list() ? static_cast<int64_t>(object.as_list().size())
                                         : static_cast<int64_t>(chars.size());
    const int64_t step = part[2];
    if (step == 0) throw_runtime("slice step cannot be zero");
    int64_t start, stop;
    // Same clamping as @huggingface/jinja's slice() (and Python's).
    if (step > 0) {
      start = !given[0]     ? 0
              : part[0] < 0 ? std::max<int64_t>(len + part[0], 0)
                            : std::min(part[0], len);
      stop = !given[1]     ? len
             : part[1] < 0 ? std::max<int64_t>(len + part[1], 0)
                           : std::min(part[1], len);
    } else {
      start = !given[0]     ? len - 1
              : part[0] < 0 ? std::max<int64_t>(len + part[0], -1)
                            : std::min(part[0], len - 1);
      stop = !given[1]      ? -1
             : part[1] < -1 ? std::max<int64_t>(len + part[1], -1)
                            : std::min(part[1], len - 1);
    }
    List items;
    std::string text;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      charge_work(1);
      if (object.is_list())
        items.push_back(object.as_list()[static_cast<size_t>(i)]);
      else
        text += chars[static_cast<size_t>(i)];
      if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
    }
    if (object.is_list()) return Value::list(std::move(items));
    return make_string(std::move(text));
  }
  const Value prop = e.flag ? eval(prop_expr, env) : prop_expr.literal;
  if (object.is_dict()) {
    if (!prop.is_string())
      throw_runtime(std::string("dict keys are strings, got a ") + prop.type_name());
    if (const Value* v = object.as_dict().find(prop.as_string())) return *v;
    return builtin_member(object, prop.as_string());
  }
  if (object.is_list() || object.is_string()) {
    if (prop.is_int()) {
      int64_t i = prop.as_int();
      if (object.is_list()) {
        const int64_t n = static_cast<int64_t>(object.as_list().size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value();
        return object.as_list()[static_cast<size_t>(i)];
      }
      // JS String.at indexes UTF-16 units; for BMP text that equals code points.
      const std::vector<std::string> chars = utf8_chars(object.as_string());
      const int64_t n = static_cast<int64_t>(chars.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value();
      return Value::string(chars[static_cast<size_t>(i)]);
    }
    if (prop.is_string()) return builtin_member(object, prop.as_string());
    throw_runtime(std::string("cannot index a ") + object.type_name() + " with a " +
                  prop.type_name());
  }
  if (!prop.is_string())
    throw_runtime(std::string("cannot index a ") + object.type_name() + " with a " +
                  prop.type_name());
  return Value();  // attributes of undefined/none/numbers are undefined, as in @huggingface/jinja
}

Value Interpreter::eval_call(const Expr& e, const std::shared_ptr<Env>& env) {
  CallArgs args = eval_args(e.kids, 1, env);
  const Expr& callee_expr = *e.kids[0];
  const Value callee = eval(callee_expr, env);
  if (!callee.is_callable() && callee_expr.kind == ExprKind::kMember && !callee_expr.flag) {
    const Value receiver = eval(*callee_expr.kids[0], env);
    throw JinjaError(JinjaError::Kind::kRuntime,
                     "unknown method '" + callee_expr.kids[1]->literal.to_output() + "' on a " +
                         receiver.type_name(),
                     callee_expr.kids[1]->pos);
  }
  return call_value(callee, args, env,
                    callee_expr.kind == ExprKind::kIdentifier ? callee_expr.name : "expression");
}

Value Interpreter::eval_filter(const Expr& e, Value operand, const std::shared_ptr<Env>& env) {
  CallArgs args = eval_args(e.kids, 1, env);
  return apply_filter(*this, e.name, operand, args, e.flag);
}

}  // namespace xy::jinja
