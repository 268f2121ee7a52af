#include "tokenizer/jinja/methods.h"

#include <algorithm>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/string_ops.h"

namespace xy::jinja {
namespace {

using Fn = decltype(Callable::fn);

Value method(const std::string& name, Fn fn) {
  return Value::callable(name, std::move(fn));
}

// Positional argument `i`, else keyword `kw`, else null.
const Value* arg(const CallArgs& a, size_t i, const char* kw) {
  if (i < a.positional.size()) return &a.positional[i];
  return kw ? a.kwarg(kw) : nullptr;
}

bool starts_or_ends(const std::string& s, const Value& pattern, bool starts, const char* name) {
  auto test = [&](const std::string& p) {
    if (p.size() > s.size()) return false;
    return starts ? s.compare(0, p.size(), p) == 0
                  : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (pattern.is_string()) return test(pattern.as_string());
  if (pattern.is_list()) {
    for (const Value& item : pattern.as_list()) {
      if (!item.is_string()) throw_runtime(std::string(name) + "() tuple elements must be strings");
      if (test(item.as_string())) return true;
    }
    return false;
  }
  throw_runtime(std::string(name) + "() argument must be a string or a tuple of strings");
}

Value string_member(const Value& self, const std::string& name) {
  const std::string& s = self.as_string();
  if (name == "length") return Value::integer(utf16_length(s));
  if (name == "upper")
    return method(name,
                  [s](Interpreter& in, CallArgs&, auto&) { return in.make_string(to_upper(s)); });
  if (name == "lower")
    return method(name,
                  [s](Interpreter& in, CallArgs&, auto&) { return in.make_string(to_lower(s)); });
  if (name == "title")
    return method(name,
                  [s](Interpreter& in, CallArgs&, auto&) { return in.make_string(title_case(s)); });
  if (name == "capitalize") {
    return method(name,
                  [s](Interpreter& in, CallArgs&, auto&) { return in.make_string(capitalize(s)); });
  }
  // @huggingface/jinja's strip family ignores a `chars` argument and trims whitespace.
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip", right = name != "lstrip";
    return method(name, [s, left, right](Interpreter& in, CallArgs&, auto&) {
      return in.make_string(js_trim(s, left, right));
    });
  }
  if (name == "startswith" || name == "endswith") {
    const bool starts = name == "startswith";
    return method(name, [s, starts, name](Interpreter&, CallArgs& a, auto&) {
      if (a.positional.empty()) throw_runtime(name + "() requires an argument");
      return Value::boolean(starts_or_ends(s, a.positional[0], starts, name.c_str()));
    });
  }
  if (name == "split") {
    return method(name, [s](Interpreter& in, CallArgs& a, auto&) {
      const Value* sep = arg(a, 0, "sep");
      const Value* max = arg(a, 1, "maxsplit");
      std::optional<std::string> sep_s;
      if (sep && !sep->is_none()) {
        if (!sep->is_string()) throw_runtime("split(): sep must be a string or none");
        if (sep->as_string().empty()) throw_runtime("split(): empty separator");
        sep_s = sep->as_string();
      }
      int64_t maxsplit = -1;
      if (max) {
        if (!max->is_int()) throw_runtime("split(): maxsplit must be an integer");
        maxsplit = max->as_int();
      }
      List parts;
      for (std::string& p : split(s, sep_s, maxsplit))
        parts.push_back(in.make_string(std::move(p)));
      in.charge_work(static_cast<int64_t>(parts.size()));
      return Value::list(std::move(parts));
    });
  }
  if (name == "replace") {
    return method(name, [s](Interpreter& in, CallArgs& a, auto&) {
      if (a.positional.size() < 2) throw_runtime("replace() requires two arguments");
      const Value& from = a.positional[0];
      const Value& to = a.positional[1];
      if (!from.is_string() || !to.is_string())
        throw_runtime("replace() arguments must be strings");
      const Value* count = arg(a, 2, "count");
      int64_t n = -1;
      if (count && !count->is_none()) {
        if (!count->is_int()) throw_runtime("replace(): count must be an integer or none");
        n = count->as_int();
      }
      // Bound the result before building it: an empty pattern inserts between characters.
      const std::string& f = from.as_string();
      const size_t hits = f.empty() ? s.size() + 1 : s.size() / f.size() + 1;
      in.charge_string(s.size() + hits * to.as_string().size());
      return Value::string(replace(s, f, to.as_string(), n));
    });
  }
  return Value();
}

Value dict_member(const Value& self, const std::string& name) {
  const Dict& d = self.as_dict();
  if (name == "get") {
    return method(name, [self](Interpreter&, CallArgs& a, auto&) {
      if (a.positional.empty() || !a.positional[0].is_string())
        throw_runtime("get(): key must be a string");
      if (const Value* v = self.as_dict().find(a.positional[0].as_string())) return *v;
      return a.positional.size() > 1 ? a.positional[1] : Value::none();
    });
  }
  if (name == "items" || name == "keys" || name == "values") {
    return method(name, [self, name](Interpreter& in, CallArgs&, auto&) {
      in.charge_work(static_cast<int64_t>(self.as_dict().entries.size()));
      if (name == "items") return dict_items(self.as_dict());
      return name == "keys" ? dict_keys(self.as_dict()) : dict_values(self.as_dict());
    });
  }
  if (name == "dictsort") {
    return method(name, [self](Interpreter& in, CallArgs& a, auto&) {
      const Value* cs = arg(a, 0, "case_sensitive");
      const Value* by = arg(a, 1, "by");
      const Value* rev = arg(a, 2, "reverse");
      if (cs && !cs->is_bool()) throw_runtime("dictsort(): case_sensitive must be a boolean");
      if (rev && !rev->is_bool()) throw_runtime("dictsort(): reverse must be a boolean");
      const bool by_value = by && by->is_string() && by->as_string() == "value";
      if (by && !(by->is_string() && (by->as_string() == "key" || by->as_string() == "value"))) {
        throw_runtime("dictsort(): by must be 'key' or 'value'");
      }
      const bool case_sensitive = cs && cs->as_bool();
      const bool reverse = rev && rev->as_bool();
      in.charge_work(static_cast<int64_t>(self.as_dict().entries.size()));
      List items = dict_items(self.as_dict()).as_list();
      std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        const int c = compare_values(x.as_list()[by_value ? 1 : 0], y.as_list()[by_value ? 1 : 0],
                                     case_sensitive);
        return reverse ? c > 0 : c < 0;
      });
      return Value::list(std::move(items));
    });
  }
  (void)d;
  return Value();
}

}  // namespace

Value dict_items(const Dict& d) {
  List items;
  items.reserve(d.entries.size());
  for (const auto& [k, v] : d.entries) items.push_back(Value::list({Value::string(k), v}));
  return Value::list(std::move(items));
}

Value dict_keys(const Dict& d) {
  List keys;
  for (const auto& e : d.entries) keys.push_back(Value::string(e.first));
  return Value::list(std::move(keys));
}

Value dict_values(const Dict& d) {
  List values;
  for (const auto& e : d.entries) values.push_back(e.second);
  return Value::list(std::move(values));
}

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
  if (a.is_none() && b.is_none()) return 0;
  if (a.is_undefined() && b.is_undefined()) return 0;
  const bool na = a.is_number() || a.is_bool(), nb = b.is_number() || b.is_bool();
  if (na && nb) {
    const double x = a.as_number(), y = b.as_number();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const std::string x = case_sensitive ? a.as_string() : to_lower(a.as_string());
    const std::string y = case_sensitive ? b.as_string() : to_lower(b.as_string());
    return x < y ? -1 : x > y ? 1 : 0;
  }
  throw_runtime(std::string("cannot compare ") + a.type_name() + " with " + b.type_name());
}

Value builtin_member(const Value& receiver, const std::string& name) {
  if (receiver.is_string()) return string_member(receiver, name);
  if (receiver.is_list()) {
    if (name == "length") return Value::integer(static_cast<int64_t>(receiver.as_list().size()));
    return Value();
  }
  if (receiver.is_dict() && !receiver.is_namespace()) return dict_member(receiver, name);
  return Value();
}

}  // namespace xy::jinja
