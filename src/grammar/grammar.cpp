#include "grammar/grammar.h"

#include <algorithm>
#include <unordered_map>

#include "grammar/utf8_ranges.h"

namespace xy::grammar {

using Sequence = std::vector<Element>;

struct GrammarBuilder::Lowering {
  explicit Lowering(GrammarBuilder& b) : builder(b), g(std::make_shared<Grammar>()) {}

  GrammarBuilder& builder;
  std::shared_ptr<Grammar> g;
  std::vector<std::vector<Sequence>> alts;  // per rule, before flattening
  std::unordered_map<std::string, int> named;
  std::vector<std::string> pending;  // named rules referenced but not yet lowered
  std::map<std::array<uint64_t, 4>, int32_t> byte_set_index;
  std::map<std::string, int> class_rules;  // lowered non-ASCII classes, by their ranges
  Status error = Status::ok();

  int new_rule(std::string name) {
    g->rules_.push_back({std::move(name), {}});
    alts.emplace_back();
    return static_cast<int>(g->rules_.size()) - 1;
  }

  int rule_of(const std::string& name) {
    auto it = named.find(name);
    if (it != named.end()) return it->second;
    if (!builder.bodies_.count(name)) {
      if (error.is_ok()) error = invalid_argument("grammar: rule '" + name + "' is not defined");
      return -1;
    }
    const int r = new_rule(name);
    named.emplace(name, r);
    pending.push_back(name);
    return r;
  }

  // Counts elements as sequences grow; past the limit lowering stops with an error.
  size_t emitted = 0;
  bool too_large() {
    if (emitted <= kMaxElements) return false;
    if (error.is_ok()) {
      error = invalid_argument("grammar: more than " + std::to_string(kMaxElements) +
                               " elements after expanding repetitions; the grammar is too large");
    }
    return true;
  }

  Element bytes(const ByteSet& set) {
    auto [it, inserted] =
        byte_set_index.try_emplace(set.words(), static_cast<int32_t>(g->byte_sets_.size()));
    if (inserted) g->byte_sets_.push_back(set);
    return {ElementKind::kBytes, it->second};
  }
  Element byte(uint8_t b) {
    ByteSet s;
    s.add(b);
    return bytes(s);
  }

  // A rule for the expression (a reference to an existing rule when it is one).
  int rule_for(const Expr& e, const std::string& hint) {
    if (e.kind == Expr::Kind::kRef) return rule_of(e.text);
    const int r = new_rule(builder.fresh_name(hint));
    lower_alternatives(e, r, hint);
    return r;
  }

  void lower_alternatives(const Expr& e, int rule, const std::string& hint) {
    std::vector<Sequence> out;
    if (e.kind == Expr::Kind::kAlt) {
      for (const Expr& item : e.items) {
        Sequence s;
        lower_into(item, s, hint);
        out.push_back(std::move(s));
      }
    } else {
      Sequence s;
      lower_into(e, s, hint);
      out.push_back(std::move(s));
    }
    alts[static_cast<size_t>(rule)] = std::move(out);
  }

  void lower_class(const Expr& e, Sequence& out, const std::string& hint) {
    const std::vector<CodepointRange> ranges = normalize_class(e.ranges, e.negated);
    if (ranges.empty() || ranges.back().hi < 0x80) {  // ASCII: one element (empty: never matches)
      ByteSet set;
      for (const CodepointRange& r : ranges) {
        set.add_range(static_cast<uint8_t>(r.lo), static_cast<uint8_t>(r.hi));
      }
      out.push_back(bytes(set));
      return;
    }
    std::string key;
    for (const CodepointRange& r : ranges) {
      key += std::to_string(r.lo) + "-" + std::to_string(r.hi) + ",";
    }
    auto it = class_rules.find(key);
    if (it == class_rules.end()) {
      const int r = new_rule(builder.fresh_name(hint + "_char"));
      std::vector<Sequence> seqs;
      ByteSet single;
      for (const ByteRangeSeq& brs : utf8_sequences(ranges)) {
        if (brs.size() == 1) {
          single.add_range(brs[0].lo, brs[0].hi);
          continue;
        }
        Sequence s;
        for (const ByteRange& br : brs) {
          ByteSet set;
          set.add_range(br.lo, br.hi);
          s.push_back(bytes(set));
        }
        seqs.push_back(std::move(s));
      }
      if (!single.empty()) seqs.insert(seqs.begin(), Sequence{bytes(single)});
      alts[static_cast<size_t>(r)] = std::move(seqs);
      it = class_rules.emplace(key, r).first;
    }
    out.push_back({ElementKind::kRule, it->second});
  }

  void lower_repeat(const Expr& e, Sequence& out, const std::string& hint) {
    if (e.min < 0 || e.max < -1 || (e.max >= 0 && e.max < e.min) || e.min > kMaxRepeat ||
        e.max > kMaxRepeat) {
      if (error.is_ok()) {
        error = invalid_argument(
            "grammar: repetition {" + std::to_string(e.min) + "," + std::to_string(e.max) +
            "} in rule '" + hint +
            "' is out of range (0 <= min <= max <= " + std::to_string(kMaxRepeat) + ")");
      }
      return;
    }
    const Expr& item = e.items[0];
    // Short items are copied in place; longer ones become one rule that is referenced.
    const bool inline_item = (item.kind == Expr::Kind::kLiteral && item.text.size() <= 4) ||
                             item.kind == Expr::Kind::kClass || item.kind == Expr::Kind::kRef;
    Element ref{ElementKind::kRule, -1};
    if (!inline_item) ref.arg = rule_for(item, hint);
    const auto emit_item = [&](Sequence& s) {
      if (inline_item) {
        lower_into(item, s, hint);
      } else {
        s.push_back(ref);
        ++emitted;
      }
    };
    for (int i = 0; i < e.min && !too_large(); ++i) emit_item(out);
    if (e.max == e.min || too_large()) return;
    if (e.max == -1) {  // S ::= item S | ε
      const int s = new_rule(builder.fresh_name(hint + "_star"));
      Sequence loop;
      emit_item(loop);
      loop.push_back({ElementKind::kRule, s});
      alts[static_cast<size_t>(s)] = {std::move(loop), Sequence{}};
      out.push_back({ElementKind::kRule, s});
      return;
    }
    // O_1 ::= item | ε;  O_k ::= item O_{k-1} | ε
    int prev = -1;
    for (int k = 1; k <= e.max - e.min && !too_large(); ++k) {
      const int o = new_rule(builder.fresh_name(hint + "_opt"));
      Sequence s;
      emit_item(s);
      if (prev >= 0) s.push_back({ElementKind::kRule, prev});
      alts[static_cast<size_t>(o)] = {std::move(s), Sequence{}};
      prev = o;
    }
    out.push_back({ElementKind::kRule, prev});
  }

  void lower_into(const Expr& e, Sequence& out, const std::string& hint) {
    // Sequences only append here or through nested calls: count this call's own elements.
    const size_t before = out.size();
    lower_leaf_or_nested(e, out, hint);
    if (e.kind != Expr::Kind::kSeq && e.kind != Expr::Kind::kRepeat) emitted += out.size() - before;
  }

  void lower_leaf_or_nested(const Expr& e, Sequence& out, const std::string& hint) {
    switch (e.kind) {
      case Expr::Kind::kEmpty:
        return;
      case Expr::Kind::kLiteral:
        for (char c : e.text) out.push_back(byte(static_cast<uint8_t>(c)));
        return;
      case Expr::Kind::kClass:
        lower_class(e, out, hint);
        return;
      case Expr::Kind::kSeq:
        for (const Expr& item : e.items) lower_into(item, out, hint);
        return;
      case Expr::Kind::kAlt:
        out.push_back({ElementKind::kRule, rule_for(e, hint)});
        return;
      case Expr::Kind::kRepeat:
        lower_repeat(e, out, hint);
        return;
      case Expr::Kind::kRef:
        out.push_back({ElementKind::kRule, rule_of(e.text)});
        return;
    }
  }

  void flatten() {
    for (size_t r = 0; r < alts.size(); ++r) {
      for (Sequence& s : alts[r]) {
        g->rules_[r].starts.push_back(static_cast<int32_t>(g->elements_.size()));
        g->elements_.insert(g->elements_.end(), s.begin(), s.end());
        g->elements_.push_back({ElementKind::kEnd, static_cast<int32_t>(r)});
      }
    }
  }

  // A rule that can reach itself through leftmost positions (after nullable prefixes) with a
  // call that is not in tail position would make the matcher's closure push without end. Cycles
  // of tail calls only (x** or A ::= B, B ::= A | "x") return to the same stack and are fine: the
  // closure visits each (position, stack) once.
  Status check_left_recursion() const {
    const Grammar& gr = *g;
    const int n = gr.num_rules();
    std::vector<char> nullable(static_cast<size_t>(n), 0);
    for (bool changed = true; changed;) {
      changed = false;
      for (int r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (int32_t pos : gr.alternatives(r)) {
          bool all = true;
          for (; gr.element(pos).kind != ElementKind::kEnd; ++pos) {
            const Element& el = gr.element(pos);
            if (el.kind == ElementKind::kBytes || !nullable[el.arg]) {
              all = false;
              break;
            }
          }
          if (all) {
            nullable[r] = 1;
            changed = true;
            break;
          }
        }
      }
    }
    struct Edge {
      int to;
      bool tail;
    };
    std::vector<std::vector<Edge>> left(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) {
      for (int32_t pos : gr.alternatives(r)) {
        for (; gr.element(pos).kind == ElementKind::kRule; ++pos) {
          const int callee = gr.element(pos).arg;
          left[r].push_back({callee, gr.element(pos + 1).kind == ElementKind::kEnd});
          if (!nullable[callee]) break;
        }
      }
    }
    // Tarjan's strongly connected components, iteratively (repetition chains can be deep).
    std::vector<int> index(static_cast<size_t>(n), -1), low(static_cast<size_t>(n), 0),
        comp(static_cast<size_t>(n), -1);
    std::vector<char> on_stack(static_cast<size_t>(n), 0);
    std::vector<int> stack;
    std::vector<std::pair<int, size_t>> frames;
    int counter = 0, num_comps = 0;
    for (int root = 0; root < n; ++root) {
      if (index[root] >= 0) continue;
      frames.push_back({root, 0});
      while (!frames.empty()) {
        auto& [v, next_edge] = frames.back();
        if (next_edge == 0 && index[v] < 0) {
          index[v] = low[v] = counter++;
          stack.push_back(v);
          on_stack[v] = 1;
        }
        if (next_edge < left[v].size()) {
          const int w = left[v][next_edge++].to;
          if (index[w] < 0) {
            frames.push_back({w, 0});
          } else if (on_stack[w]) {
            low[v] = std::min(low[v], index[w]);
          }
          continue;
        }
        if (low[v] == index[v]) {
          for (int w = -1; w != v;) {
            w = stack.back();
            stack.pop_back();
            on_stack[w] = 0;
            comp[w] = num_comps;
          }
          ++num_comps;
        }
        const int done = v;
        frames.pop_back();
        if (!frames.empty())
          low[frames.back().first] = std::min(low[frames.back().first], low[done]);
      }
    }
    for (int r = 0; r < n; ++r) {
      for (const Edge& e : left[r]) {
        if (!e.tail && comp[e.to] == comp[r]) {
          return invalid_argument("grammar: rule '" + gr.rule_name(e.to) +
                                  "' is left-recursive (it can reach itself without consuming "
                                  "input); rewrite it with repetition, e.g. a ::= b (\",\" b)*");
        }
      }
    }
    return Status::ok();
  }
};

void GrammarBuilder::define(const std::string& name, Expr body) {
  if (bodies_.count(name)) {
    duplicates_.push_back(name);
    return;
  }
  bodies_.emplace(name, std::move(body));
  order_.push_back(name);
}

std::string GrammarBuilder::fresh_name(std::string_view hint) {
  for (;;) {
    std::string name = std::string(hint) + "_" + std::to_string(next_fresh_++);
    if (!bodies_.count(name)) return name;
  }
}

Result<std::shared_ptr<const Grammar>> GrammarBuilder::build(const std::string& root) {
  if (!duplicates_.empty()) {
    return invalid_argument("grammar: rule '" + duplicates_[0] + "' is defined more than once");
  }
  if (!bodies_.count(root)) return invalid_argument("grammar: no rule named '" + root + "'");
  Lowering l(*this);
  l.g->root_ = l.rule_of(root);
  while (!l.pending.empty() && l.error.is_ok()) {
    const std::string name = l.pending.back();
    l.pending.pop_back();
    l.lower_alternatives(bodies_.at(name), l.named.at(name), name);
  }
  XY_RETURN_IF_ERROR(l.error);
  l.flatten();
  XY_RETURN_IF_ERROR(l.check_left_recursion());
  return std::shared_ptr<const Grammar>(std::move(l.g));
}

}  // namespace xy::grammar
