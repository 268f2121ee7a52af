#include "tokenizer/jinja/parser.h"

#include <cstdlib>
#include <initializer_list>
#include <set>

#include "tokenizer/jinja/filters.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/value_tests.h"

namespace xy::jinja {
namespace {

// Nesting bound for expressions and blocks: deep enough for any real template, shallow
// enough that the recursive-descent parser and evaluator cannot exhaust the stack.
constexpr int kMaxNesting = 128;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {
    const SourcePos end = toks_.empty() ? SourcePos{1, 1} : toks_.back().pos;
    eof_ = Token{TokenType::kComment, "<end of template>", end};
  }

  Program run() {
    Program p;
    while (cur_ < toks_.size()) p.body.push_back(parse_any());
    return p;
  }

 private:
  // ---- token helpers ----
  bool at_end(size_t k = 0) const { return cur_ + k >= toks_.size(); }
  const Token& peek(size_t k = 0) const { return at_end(k) ? eof_ : toks_[cur_ + k]; }
  bool is(TokenType t, size_t k = 0) const { return !at_end(k) && toks_[cur_ + k].type == t; }
  bool is_ident(const char* name, size_t k = 0) const {
    return is(TokenType::kIdentifier, k) && toks_[cur_ + k].value == name;
  }
  bool is_statement(std::initializer_list<const char*> names) const {
    if (!is(TokenType::kOpenStatement) || !is(TokenType::kIdentifier, 1)) return false;
    for (const char* n : names) {
      if (toks_[cur_ + 1].value == n) return true;
    }
    return false;
  }

  [[noreturn]] void fail(const std::string& msg, SourcePos pos) const {
    throw JinjaError(JinjaError::Kind::kSyntax, msg, pos);
  }
  [[noreturn]] void fail_here(const std::string& msg) const { fail(msg, peek().pos); }

  const Token& expect(TokenType t, const char* what) {
    if (!is(t)) {
      const Token& got = peek();
      fail_here(std::string("expected ") + what + ", got " +
                (at_end() ? std::string("end of template") : describe(got)));
    }
    return toks_[cur_++];
  }
  void expect_ident(const char* name) {
    if (!is_ident(name)) fail_here(std::string("expected '") + name + "', got " + describe(peek()));
    ++cur_;
  }
  static std::string describe(const Token& t) {
    if (t.type == TokenType::kIdentifier || t.type == TokenType::kNumericLiteral) {
      return std::string(token_type_name(t.type)) + " '" + t.value + "'";
    }
    return token_type_name(t.type);
  }

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p_(p) {
      if (++p_->depth_ > kMaxNesting) {
        p_->fail_here("template nested deeper than " + std::to_string(kMaxNesting) + " levels");
      }
    }
    ~DepthGuard() { --p_->depth_; }
    Parser* p_;
  };

  static ExprPtr make(ExprKind k, SourcePos pos) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = pos;
    return e;
  }

  // Body of a block until one of `ends` ({% end... %}); errors at end of input naming the
  // block that was left open.
  std::vector<StmtPtr> parse_block(std::initializer_list<const char*> ends, const char* block,
                                   SourcePos opened) {
    std::vector<StmtPtr> body;
    while (!is_statement(ends)) {
      if (at_end()) {
        fail(std::string("unclosed '") + block + "' block (missing {% end" + block + " %})",
             opened);
      }
      body.push_back(parse_any());
    }
    return body;
  }

  void expect_end(const char* end_name) {
    expect(TokenType::kOpenStatement, "'{%'");
    expect_ident(end_name);
    expect(TokenType::kCloseStatement, "'%}'");
  }

  // ---- statements ----
  StmtPtr parse_any() {
    DepthGuard guard(this);
    const Token& t = peek();
    switch (t.type) {
      case TokenType::kComment: {
        ++cur_;
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;  // comments render nothing: an empty text node
        s->pos = t.pos;
        return s;
      }
      case TokenType::kText: {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;
        s->pos = t.pos;
        s->text = t.value;
        ++cur_;
        return s;
      }
      case TokenType::kOpenStatement:
        return parse_statement();
      case TokenType::kOpenExpression: {
        ++cur_;
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->pos = t.pos;
        s->expr = parse_expression();
        expect(TokenType::kCloseExpression, "'}}'");
        return s;
      }
      default:
        fail(std::string("unexpected ") + describe(t), t.pos);
    }
  }

  StmtPtr parse_statement() {
    const SourcePos open_pos = peek().pos;
    expect(TokenType::kOpenStatement, "'{%'");
    if (!is(TokenType::kIdentifier))
      fail_here("expected a tag name after '{%', got " + describe(peek()));
    const Token& name_tok = toks_[cur_];
    const std::string name = name_tok.value;
    auto s = std::make_unique<Stmt>();
    s->pos = open_pos;
    ++cur_;
    if (name == "set") {
      parse_set(*s);
    } else if (name == "if") {
      parse_if(*s);
      expect_end("endif");
    } else if (name == "for") {
      parse_for(*s);
      expect_end("endfor");
    } else if (name == "macro") {
      s->kind = StmtKind::kMacro;
      ExprPtr id = parse_primary();
      if (id->kind != ExprKind::kIdentifier) fail("expected a macro name", id->pos);
      s->text = id->name;
      s->params = parse_args(/*parameters=*/true);
      expect(TokenType::kCloseStatement, "'%}'");
      s->body = parse_block({"endmacro"}, "macro", open_pos);
      expect_end("endmacro");
    } else if (name == "call") {
      s->kind = StmtKind::kCallBlock;
      if (is(TokenType::kOpenParen)) s->params = parse_args(true);
      ExprPtr callee = parse_primary();
      if (callee->kind != ExprKind::kIdentifier)
        fail("expected a macro name after 'call'", callee->pos);
      auto call = make(ExprKind::kCall, callee->pos);
      call->kids.push_back(std::move(callee));
      for (auto& a : parse_args(false)) call->kids.push_back(std::move(a));
      s->expr = std::move(call);
      expect(TokenType::kCloseStatement, "'%}'");
      s->body = parse_block({"endcall"}, "call", open_pos);
      expect_end("endcall");
    } else if (name == "filter") {
      s->kind = StmtKind::kFilterBlock;
      const SourcePos fpos = peek().pos;
      ExprPtr f = parse_primary();
      if (f->kind != ExprKind::kIdentifier) fail("expected a filter name", f->pos);
      auto filter = make(ExprKind::kFilter, fpos);
      filter->name = f->name;
      filter->kids.push_back(nullptr);
      if (is(TokenType::kOpenParen)) {
        filter->flag = true;
        for (auto& a : parse_args(false)) filter->kids.push_back(std::move(a));
      }
      check_filter_name(filter->name, fpos);
      s->expr = std::move(filter);
      expect(TokenType::kCloseStatement, "'%}'");
      s->body = parse_block({"endfilter"}, "filter", open_pos);
      expect_end("endfilter");
    } else if (name == "break" || name == "continue") {
      s->kind = name == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      expect(TokenType::kCloseStatement, "'%}'");
    } else {
      fail("unknown tag '" + name + "'", name_tok.pos);
    }
    return s;
  }

  void parse_set(Stmt& s) {
    s.kind = StmtKind::kSet;
    s.target = parse_expression_sequence(false);
    check_assign_target(*s.target);
    if (is(TokenType::kEquals)) {
      ++cur_;
      s.expr = parse_expression_sequence(false);
    } else {
      expect(TokenType::kCloseStatement, "'=' or '%}'");
      s.body = parse_block({"endset"}, "set", s.pos);
      expect(TokenType::kOpenStatement, "'{%'");
      expect_ident("endset");
    }
    expect(TokenType::kCloseStatement, "'%}'");
  }

  void check_assign_target(const Expr& t) {
    if (t.kind == ExprKind::kIdentifier) return;
    if (t.kind == ExprKind::kTuple) {
      for (const auto& k : t.kids) {
        if (k->kind != ExprKind::kIdentifier) fail("can only unpack into plain names", k->pos);
      }
      return;
    }
    if (t.kind == ExprKind::kMember && !t.flag && t.kids[1]->literal.is_string()) return;
    fail("invalid assignment target (expected a name, a tuple of names or ns.attribute)", t.pos);
  }

  void parse_if(Stmt& s) {
    s.kind = StmtKind::kIf;
    s.expr = parse_expression();
    expect(TokenType::kCloseStatement, "'%}'");
    s.body = parse_block({"elif", "else", "endif"}, "if", s.pos);
    if (is_statement({"elif"})) {
      auto elif = std::make_unique<Stmt>();
      elif->pos = peek().pos;
      cur_ += 2;
      DepthGuard guard(this);
      parse_if(*elif);
      s.alt.push_back(std::move(elif));
    } else if (is_statement({"else"})) {
      cur_ += 2;
      expect(TokenType::kCloseStatement, "'%}'");
      s.alt = parse_block({"endif"}, "if", s.pos);
    }
  }

  void parse_for(Stmt& s) {
    s.kind = StmtKind::kFor;
    s.target = parse_expression_sequence(true);
    if (s.target->kind != ExprKind::kIdentifier && s.target->kind != ExprKind::kTuple) {
      fail("expected a name or a tuple of names as the loop variable", s.target->pos);
    }
    check_assign_target(*s.target);
    if (!is_ident("in")) fail_here("expected 'in' after the loop variable");
    ++cur_;
    ExprPtr iterable = parse_expression();
    if (iterable->kind == ExprKind::kSelect) {  // `for x in xs if cond`
      s.test = std::move(iterable->kids[1]);
      iterable = std::move(iterable->kids[0]);
    }
    s.expr = std::move(iterable);
    expect(TokenType::kCloseStatement, "'%}'");
    s.body = parse_block({"endfor", "else"}, "for", s.pos);
    if (is_statement({"else"})) {
      cur_ += 2;
      expect(TokenType::kCloseStatement, "'%}'");
      s.alt = parse_block({"endfor"}, "for", s.pos);
    }
  }

  // ---- expressions (precedence as in @huggingface/jinja) ----
  ExprPtr parse_expression_sequence(bool primary) {
    const SourcePos pos = peek().pos;
    auto next = [&] { return primary ? parse_primary() : parse_expression(); };
    ExprPtr first = next();
    if (!is(TokenType::kComma)) return first;
    auto tuple = make(ExprKind::kTuple, pos);
    tuple->kids.push_back(std::move(first));
    while (is(TokenType::kComma)) {
      ++cur_;
      tuple->kids.push_back(next());
    }
    return tuple;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(this);
    ExprPtr a = parse_or();
    if (is_ident("if")) {
      const SourcePos pos = peek().pos;
      ++cur_;
      ExprPtr test = parse_or();
      if (is_ident("else")) {
        ++cur_;
        auto t = make(ExprKind::kTernary, pos);
        t->kids.push_back(std::move(test));
        t->kids.push_back(std::move(a));
        t->kids.push_back(parse_expression());
        return t;
      }
      auto sel = make(ExprKind::kSelect, pos);
      sel->kids.push_back(std::move(a));
      sel->kids.push_back(std::move(test));
      return sel;
    }
    return a;
  }

  ExprPtr binary(std::string op, ExprPtr l, ExprPtr r, SourcePos pos) {
    auto b = make(ExprKind::kBinary, pos);
    b->name = std::move(op);
    b->kids.push_back(std::move(l));
    b->kids.push_back(std::move(r));
    return b;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_ident("or")) {
      const SourcePos pos = toks_[cur_++].pos;
      left = binary("or", std::move(left), parse_and(), pos);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_ident("and")) {
      const SourcePos pos = toks_[cur_++].pos;
      left = binary("and", std::move(left), parse_not(), pos);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_ident("not")) {
      DepthGuard guard(this);
      const SourcePos pos = toks_[cur_++].pos;
      auto u = make(ExprKind::kUnary, pos);
      u->name = "not";
      u->kids.push_back(parse_not());
      return u;
    }
    return parse_comparison();
  }

  ExprPtr parse_comparison() {
    ExprPtr left = parse_additive();
    while (true) {
      std::string op;
      const SourcePos pos = peek().pos;
      if (is_ident("not") && is_ident("in", 1)) {
        op = "not in";
        cur_ += 2;
      } else if (is_ident("in")) {
        op = "in";
        ++cur_;
      } else if (is(TokenType::kComparisonOperator)) {
        op = toks_[cur_++].value;
      } else {
        break;
      }
      left = binary(std::move(op), std::move(left), parse_additive(), pos);
    }
    return left;
  }

  ExprPtr parse_additive() {
    ExprPtr left = parse_multiplicative();
    while (is(TokenType::kAdditiveOperator)) {
      const Token& t = toks_[cur_++];
      left = binary(t.value, std::move(left), parse_multiplicative(), t.pos);
    }
    return left;
  }

  ExprPtr parse_multiplicative() {
    ExprPtr left = parse_power();
    while (is(TokenType::kMultiplicativeOperator)) {
      const Token& t = toks_[cur_++];
      left = binary(t.value, std::move(left), parse_power(), t.pos);
    }
    return left;
  }

  ExprPtr parse_power() {
    ExprPtr left = parse_test();
    while (is(TokenType::kExponentiationOperator)) {
      const Token& t = toks_[cur_++];
      left = binary("**", std::move(left), parse_test(), t.pos);
    }
    return left;
  }

  ExprPtr parse_test() {
    ExprPtr operand = parse_filter();
    while (is_ident("is")) {
      ++cur_;
      const bool negate = is_ident("not");
      if (negate) ++cur_;
      const SourcePos pos = peek().pos;
      ExprPtr name = parse_primary();
      if (name->kind != ExprKind::kIdentifier) {
        // `is none` / `is true` lex as identifiers too; literals never reach here.
        fail("expected a test name after 'is'", pos);
      }
      if (!is_known_test(name->name)) fail("unknown test '" + name->name + "'", pos);
      auto t = make(ExprKind::kTest, pos);
      t->name = name->name;
      t->flag = negate;
      t->kids.push_back(std::move(operand));
      if (is(TokenType::kOpenParen)) {
        for (auto& a : parse_args(false)) t->kids.push_back(std::move(a));
      }
      operand = std::move(t);
    }
    return operand;
  }

  void check_filter_name(const std::string& name, SourcePos pos) {
    if (!is_known_filter(name)) fail("unknown filter '" + name + "'", pos);
  }

  ExprPtr parse_filter() {
    ExprPtr operand = parse_unary_sign();
    while (is(TokenType::kPipe)) {
      ++cur_;
      const SourcePos pos = peek().pos;
      ExprPtr name = parse_primary();
      if (name->kind != ExprKind::kIdentifier) fail("expected a filter name after '|'", pos);
      check_filter_name(name->name, pos);
      auto f = make(ExprKind::kFilter, pos);
      f->name = name->name;
      f->kids.push_back(std::move(operand));
      if (is(TokenType::kOpenParen)) {
        f->flag = true;
        for (auto& a : parse_args(false)) f->kids.push_back(std::move(a));
      }
      operand = std::move(f);
    }
    return operand;
  }

  ExprPtr parse_unary_sign() {
    const Token& t = peek();
    if ((t.type == TokenType::kUnaryOperator || t.type == TokenType::kAdditiveOperator) &&
        (t.value == "-" || t.value == "+")) {
      DepthGuard guard(this);
      ++cur_;
      auto u = make(ExprKind::kUnary, t.pos);
      u->name = t.value;
      u->kids.push_back(parse_unary_sign());
      return u;
    }
    return parse_call_member();
  }

  ExprPtr parse_call_member() {
    ExprPtr e = parse_member(parse_primary());
    while (is(TokenType::kOpenParen)) {
      auto call = make(ExprKind::kCall, e->pos);
      call->kids.push_back(std::move(e));
      for (auto& a : parse_args(false)) call->kids.push_back(std::move(a));
      e = parse_member(std::move(call));
    }
    return e;
  }

  std::vector<ExprPtr> parse_args(bool parameters) {
    DepthGuard guard(this);
    expect(TokenType::kOpenParen, "'('");
    std::vector<ExprPtr> args;
    std::set<std::string> names;
    bool saw_keyword = false, saw_spread = false;
    while (!is(TokenType::kCloseParen)) {
      if (at_end()) fail_here("unclosed '(' in argument list");
      const SourcePos pos = peek().pos;
      const bool kw_spread = is(TokenType::kExponentiationOperator);
      const bool spread = is(TokenType::kMultiplicativeOperator) && peek().value == "*";
      if (parameters && (kw_spread || spread))
        fail("argument unpacking is not allowed in parameters", pos);
      if (kw_spread) {
        ++cur_;
        auto e = make(ExprKind::kKwSpread, pos);
        e->kids.push_back(parse_expression());
        args.push_back(std::move(e));
        if (is(TokenType::kComma)) ++cur_;
        if (!is(TokenType::kCloseParen)) fail_here("'**' must be applied to the final argument");
        break;
      }
      ExprPtr arg;
      if (spread) {
        if (saw_spread) fail("only one '*' argument unpacking is allowed", pos);
        saw_spread = true;
        ++cur_;
        arg = make(ExprKind::kSpread, pos);
        arg->kids.push_back(parse_expression());
      } else {
        arg = parse_expression();
        if (is(TokenType::kEquals)) {
          ++cur_;
          if (arg->kind != ExprKind::kIdentifier) fail("expected a name before '='", arg->pos);
          auto kw = make(ExprKind::kKeywordArg, arg->pos);
          kw->name = arg->name;
          kw->kids.push_back(parse_expression());
          arg = std::move(kw);
        }
        if (parameters) {
          if (arg->kind != ExprKind::kIdentifier && arg->kind != ExprKind::kKeywordArg) {
            fail("expected a parameter name", arg->pos);
          }
          if (!names.insert(arg->name).second)
            fail("duplicate parameter '" + arg->name + "'", arg->pos);
        }
        if (arg->kind == ExprKind::kKeywordArg) {
          saw_keyword = true;
        } else if (saw_keyword) {
          fail(parameters ? "non-default parameter follows a default one"
                          : "positional argument follows a keyword argument",
               arg->pos);
        } else if (saw_spread) {
          fail("positional argument follows '*' unpacking", arg->pos);
        }
      }
      args.push_back(std::move(arg));
      if (is(TokenType::kComma)) {
        ++cur_;
      } else if (!is(TokenType::kCloseParen)) {
        fail_here("expected ',' or ')' in argument list, got " + describe(peek()));
      }
    }
    expect(TokenType::kCloseParen, "')'");
    return args;
  }

  ExprPtr parse_subscript(SourcePos pos) {
    std::vector<ExprPtr> parts;
    bool is_slice = false;
    while (!is(TokenType::kCloseSquareBracket)) {
      if (at_end()) fail_here("unclosed '['");
      if (is(TokenType::kColon)) {
        parts.push_back(nullptr);
        ++cur_;
        is_slice = true;
      } else {
        parts.push_back(parse_expression());
        if (is(TokenType::kColon)) {
          ++cur_;
          is_slice = true;
        } else if (!is(TokenType::kCloseSquareBracket)) {
          fail_here("expected ':' or ']' in subscript, got " + describe(peek()));
        }
      }
    }
    if (parts.empty()) fail("empty subscript '[]'", pos);
    if (!is_slice) {
      if (parts.size() != 1) fail("subscript takes one index", pos);
      return std::move(parts[0]);
    }
    if (parts.size() > 3) fail("a slice takes at most 3 parts", pos);
    auto s = make(ExprKind::kSlice, pos);
    for (auto& p : parts) s->kids.push_back(std::move(p));
    while (s->kids.size() < 3) s->kids.push_back(nullptr);
    return s;
  }

  ExprPtr parse_member(ExprPtr object) {
    while (is(TokenType::kDot) || is(TokenType::kOpenSquareBracket)) {
      DepthGuard guard(this);
      const Token& op = toks_[cur_++];
      auto m = make(ExprKind::kMember, op.pos);
      m->flag = op.type == TokenType::kOpenSquareBracket;
      ExprPtr prop;
      if (m->flag) {
        prop = parse_subscript(op.pos);
        expect(TokenType::kCloseSquareBracket, "']'");
      } else {
        const SourcePos ppos = peek().pos;
        ExprPtr p = parse_primary();
        prop = make(ExprKind::kLiteral, ppos);
        if (p->kind == ExprKind::kIdentifier) {
          prop->literal = Value::string(p->name);
        } else if (p->kind == ExprKind::kLiteral && p->literal.is_int()) {
          prop->literal = p->literal;
        } else {
          fail("expected a name or an integer after '.'", ppos);
        }
      }
      m->kids.push_back(std::move(object));
      m->kids.push_back(std::move(prop));
      object = std::move(m);
    }
    return object;
  }

  ExprPtr parse_primary() {
    DepthGuard guard(this);
    if (at_end()) fail_here("unexpected end of template in an expression");
    const Token& t = toks_[cur_++];
    switch (t.type) {
      case TokenType::kNumericLiteral: {
        auto e = make(ExprKind::kLiteral, t.pos);
        if (t.value.find('.') != std::string::npos) {
          e->literal = Value::floating(std::strtod(t.value.c_str(), nullptr));
        } else {
          e->literal = Value::js_integer(std::strtod(t.value.c_str(), nullptr));  // JS Number()
        }
        return e;
      }
      case TokenType::kStringLiteral: {
        auto e = make(ExprKind::kLiteral, t.pos);
        std::string v = t.value;
        while (is(TokenType::kStringLiteral)) v += toks_[cur_++].value;  // 'a' 'b' == 'ab'
        e->literal = Value::string(std::move(v));
        return e;
      }
      case TokenType::kIdentifier: {
        auto e = make(ExprKind::kIdentifier, t.pos);
        e->name = t.value;
        return e;
      }
      case TokenType::kOpenParen: {
        ExprPtr e = parse_expression_sequence(false);
        expect(TokenType::kCloseParen, "')'");
        return e;
      }
      case TokenType::kOpenSquareBracket: {
        auto e = make(ExprKind::kList, t.pos);
        while (!is(TokenType::kCloseSquareBracket)) {
          if (at_end()) fail("unclosed '['", t.pos);
          e->kids.push_back(parse_expression());
          if (is(TokenType::kComma)) {
            ++cur_;
          } else if (!is(TokenType::kCloseSquareBracket)) {
            fail_here("expected ',' or ']' in list, got " + describe(peek()));
          }
        }
        ++cur_;
        return e;
      }
      case TokenType::kOpenCurlyBracket: {
        auto e = make(ExprKind::kDict, t.pos);
        while (!is(TokenType::kCloseCurlyBracket)) {
          if (at_end()) fail("unclosed '{'", t.pos);
          e->kids.push_back(parse_expression());
          expect(TokenType::kColon, "':' between key and value");
          e->kids.push_back(parse_expression());
          if (is(TokenType::kComma)) {
            ++cur_;
          } else if (!is(TokenType::kCloseCurlyBracket)) {
            fail_here("expected ',' or '}' in dict, got " + describe(peek()));
          }
        }
        ++cur_;
        return e;
      }
      default:
        fail("unexpected " + describe(t) + " in an expression", t.pos);
    }
  }

  std::vector<Token> toks_;
  Token eof_;
  size_t cur_ = 0;
  int depth_ = 0;
};

}  // namespace

Program parse_program(std::string_view source) {
  return Parser(tokenize(source)).run();
}

}  // namespace xy::jinja
