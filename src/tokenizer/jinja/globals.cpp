// The builtins every template sees: namespace(), range(), raise_exception(),
// strftime_now() and the boolean/none spellings, as @huggingface/jinja's setupGlobals.
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/strftime.h"

namespace xy::jinja {

std::shared_ptr<Env> Interpreter::make_globals(const Dict& context) {
  auto g = std::make_shared<Env>();
  g->set("true", Value::boolean(true));
  g->set("false", Value::boolean(false));
  g->set("none", Value::none());
  g->set("True", Value::boolean(true));
  g->set("False", Value::boolean(false));
  g->set("None", Value::none());
  g->set("raise_exception",
         Value::callable("raise_exception", [](Interpreter&, CallArgs& a, auto&) -> Value {
           std::string msg;
           for (size_t i = 0; i < a.positional.size(); ++i) {
             if (i > 0) msg += ",";
             msg += a.positional[i].to_output();
           }
           throw JinjaError(JinjaError::Kind::kRaised, msg);
         }));
  g->set("range", Value::callable("range", [](Interpreter& in, CallArgs& a, auto&) {
           if (a.positional.empty() || a.positional.size() > 3)
             throw_runtime("range() takes 1 to 3 integers");
           for (const Value& v : a.positional) {
             if (!v.is_int()) throw_runtime("range() arguments must be integers");
           }
           int64_t start = 0, stop = 0, step = 1;
           if (a.positional.size() == 1) {
             stop = a.positional[0].as_int();
           } else {
             start = a.positional[0].as_int();
             stop = a.positional[1].as_int();
             if (a.positional.size() == 3) step = a.positional[2].as_int();
           }
           if (step == 0) throw_runtime("range() step must not be zero");
           List out;
           for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
             in.charge_work(1);
             out.push_back(Value::integer(i));
             if (__builtin_add_overflow(i, step, &i)) break;
           }
           return Value::list(std::move(out));
         }));
  g->set("strftime_now", Value::callable("strftime_now", [](Interpreter& in, CallArgs& a, auto&) {
           if (a.positional.empty() || !a.positional[0].is_string())
             throw_runtime("strftime_now() needs a format string");
           return in.make_string(strftime_utc(in.now(), a.positional[0].as_string()));
         }));
  g->set(
      "namespace", Value::callable("namespace", [](Interpreter& in, CallArgs& a, auto&) {
        if (a.positional.size() > 1)
          throw_runtime("namespace() takes at most 1 positional argument");
        Dict d;
        if (a.positional.size() == 1) {
          const Value& src = a.positional[0];
          if (src.is_dict()) {
            d.entries = src.as_dict().entries;
          } else if (src.is_list()) {
            for (const Value& pair : src.as_list()) {
              if (!pair.is_list() || pair.as_list().size() != 2 || !pair.as_list()[0].is_string()) {
                throw_runtime("namespace() expects a dict or a list of [key, value] pairs");
              }
              d.set(pair.as_list()[0].as_string(), pair.as_list()[1]);
            }
          } else {
            throw_runtime(std::string("namespace() cannot read a ") + src.type_name());
          }
        }
        for (const auto& [k, v] : a.keyword) d.set(k, v);
        in.charge_work(static_cast<int64_t>(d.entries.size()) + 1);
        return Value::dict(std::move(d), /*is_namespace=*/true);
      }));
  for (const auto& [k, v] : context.entries) g->set(k, v);
  return g;
}

}  // namespace xy::jinja
