// Feature goldens for the C++ Jinja interpreter: small templates exercising one construct
// each (whitespace control, loops, filters, tests, operators, slices, methods, tojson, float
// printing), plus seeded random inputs for string methods, arithmetic and tojson. Expected
// strings come from @huggingface/jinja. Writes testdata/chat_template/features/features.json.
//
//   cd tools/chat-template-golden && node make_feature_golden.mjs
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";
import { NOW_EPOCH_SECONDS } from "./fixed_clock.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "..", "..", "testdata", "chat_template", "features");

// Deterministic PRNG (mulberry32) so the file is reproducible.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20250314);
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (xs) => xs[randInt(0, xs.length - 1)];

const cases = [];
function add(group, template, context = {}) {
  cases.push({ name: `${group}_${cases.length}`, template, context });
}

// ---- hand-written constructs ----
const W = "whitespace";
add(W, "a  {%- if true %} b {% endif -%}  c");
add(W, "  {% if true %}\n  x\n  {% endif %}\nafter\n");
add(W, "{{- ' x ' -}}  |  {{ ' y ' }}");
add(W, "a\n{# comment #}\nb\n  {# indented comment #}\nc");
add(W, "a {#- c -#} b");
add(W, "x{% generation %} gen {% endgeneration %}y\n  {%- generation -%}  z  {%- endgeneration %}w");
add(W, "line\n    {%- for i in [1,2] %}\n    item {{ i }}\n    {%- endfor %}\nend");
add(W, "{% for i in [1, 2] -%}\n  {{ i }}\n{%- endfor %}");
add(W, "tab\t{%- if true -%}\t\n x \n\t{%- endif -%}\t");
add(W, "{{ 'a' }}\n{{ 'b' }}\n{% set x = 1 %}\n{{ x }}\n");

const L = "loop";
add(L, "{% for m in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}", { xs: ["a", "b", "c"] });
add(L, "{% for m in xs %}[{{ loop.previtem }}<{{ m }}>{{ loop.nextitem }}]{% endfor %}", { xs: [1, 2, 3] });
add(L, "{% for x in xs %}{{ x }}{% else %}empty{% endfor %}", { xs: [] });
add(L, "{% for x in xs if x > 2 %}{{ x }}{{ loop.index }} {% endfor %}", { xs: [1, 5, 2, 7, 3] });
add(L, "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", { d: { z: 1, a: [1, 2], m: { q: null } } });
add(L, "{% for k in d %}{{ k }},{% endfor %}", { d: { b: 1, a: 2 } });
add(L, "{% for x in range(10) %}{% if x == 5 %}{% break %}{% endif %}{% if x % 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}");
add(L, "{% for a in [1,2] %}{% for b in ['x','y'] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %}");
add(L, "{% for x in range(2, 11, 3) %}{{ x }},{% endfor %}{% for x in range(5, 0, -2) %}{{ x }};{% endfor %}");
add(L, "{% set total = 0 %}{% for x in [1,2,3] %}{% set total = total + x %}{{ total }}{% endfor %}|{{ total }}");
add(L, "{% for a, b in [[1, 2], [3, 4]] %}{{ a * b }} {% endfor %}");

const S = "set";
add(S, "{% set x %}block {{ 1 + 1 }}{% endset %}[{{ x }}]");
add(S, "{% set ns = namespace(n=0, s='') %}{% for i in [3,4] %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}");
add(S, "{% set a, b = [1, 'two'] %}{{ a }}-{{ b }}");
add(S, "{% set a, b = 1, 2 %}{{ a + b }}");
add(S, "{% if true %}{% set leak = 'yes' %}{% endif %}{{ leak }}");
add(S, "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}");

const M = "macro";
add(M, "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bo', punct='?') }} {{ greet(name='Cy') }}");
add(M, "{% macro outer() %}<{{ caller() }}>{% endmacro %}{% call outer() %}inside {{ 1 }}{% endcall %}");
add(M, "{% macro render_list(items) %}{% for i in items %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}{% endmacro %}[{{ render_list([1, 2, 3]) }}]");
add(M, "{% macro m(a, b=a * 2) %}{{ a }}:{{ b }}{% endmacro %}{{ m(3) }} {{ m(3, 1) }}");

const F = "filter";
add(F, "{{ xs | length }} {{ s | length }} {{ d | length }} {{ xs | first }} {{ xs | last }} {{ xs | join('-') }} {{ xs | join }}", { xs: [3, 1, 2], s: "héllo", d: { a: 1 } });
add(F, "{{ xs | reverse | list | tojson }} {{ xs | sort | tojson }} {{ xs | sort(reverse=true) | tojson }} {{ xs | unique | tojson }}", { xs: [3, 1, 2, 3, 1] });
add(F, "{{ s | upper }} {{ s | lower }} {{ s | title }} {{ s | capitalize }} [{{ s | trim }}]", { s: "  hELLo wORLD_x y-z  " });
add(F, "{{ '42' | int + 1 }} {{ '3.5' | float }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ 4 | float }} {{ -3 | abs }} {{ true | int }}");
add(F, "{{ undefined_thing | default('dflt') }} {{ '' | default('empty', true) }} {{ 0 | default(5) }} {{ none | default('n') }}");
add(F, "{{ users | selectattr('active') | map(attribute='name') | join(',') }}|{{ users | rejectattr('active') | map(attribute='name') | join(',') }}|{{ users | selectattr('name', 'equalto', 'b') | list | length }}", {
  users: [{ name: "a", active: true }, { name: "b", active: false }, { name: "c", active: true }],
});
add(F, "{{ users | sort(attribute='age') | map(attribute='name') | join }} {{ users | map(attribute='missing', default='?') | join }}", {
  users: [{ name: "x", age: 30 }, { name: "y", age: 20 }, { name: "z", age: 25 }],
});
add(F, "{{ d | items | list | tojson }} {{ d | dictsort | tojson }}", { d: { b: 2, a: 1, C: 3 } });
add(F, "{{ text | indent }}|{{ text | indent(2, true) }}|{{ text | indent(width=1, blank=true) }}", { text: "a\n\nb\nc" });
add(F, "{{ 'a-b-a' | replace('a', 'X') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 5 | string }}{{ [1] | string }}{{ true | string }}");
add(F, "{{ x | safe }} {{ xs | list | length }} {{ 'abc' | join('.') }}", { x: "<b>", xs: [1, 2] });
add(F, "{% filter upper %}shout {{ 'this' }}{% endfilter %}");

const T = "test";
add(T, "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ x is not none }}", { x: 1, n: null });
add(T, "{{ s is string }} {{ 1 is number }} {{ 1.5 is number }} {{ 1 is integer }} {{ true is boolean }} {{ d is mapping }} {{ xs is mapping }}", { s: "s", d: {}, xs: [] });
add(T, "{{ xs is iterable }} {{ s is iterable }} {{ d is iterable }} {{ xs is sequence }} {{ d is sequence }} {{ 3 is odd }} {{ 4 is even }}", { xs: [1], s: "ab", d: { a: 1 } });
add(T, "{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aB' is lower }}");
add(T, "{{ f is callable }} {{ namespace is callable }}", { f: 1 });

const O = "operator";
add(O, "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 6 / 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2.5 * 2 }} {{ 1 - 2.5 }}");
add(O, "{{ 'a' ~ 1 ~ true }}|{{ 'n' ~ none }}|{{ 'a' + 1 }}|{{ 1 + 'a' }}|{{ 'x' ~ 2.0 }}|{{ 2.0 }}|{{ [1] + [2, 3] }}");
add(O, "{{ 1 < 2 }} {{ 2 <= 1 }} {{ 1 == 1.0 }} {{ 'a' == 'a' }} {{ 'a' != 'b' }} {{ none == none }} {{ x == none }} {{ 1 == true }}");
add(O, "{{ 'b' in 'abc' }} {{ 'z' not in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'q' not in d }} {{ 'x' in y }}", { d: { k: 1 } });
add(O, "{{ 0 or 'a' }} {{ 1 and 'b' }} {{ '' and 'c' }} {{ not [] }} {{ not 0 and 1 }} {{ [] or {} or 'z' }}");
add(O, "{{ 'yes' if x else 'no' }} {{ 'yes' if y else 'no' }} [{{ 'only' if false }}] {{ 1 if false else 2 if true else 3 }}", { x: 1 });
add(O, "{{ -x }} {{ +x }} {{ - -3 }} {{ -2.5 }} {{ (1 + 2) * 3 }} {{ 1 + 2 * 3 }} {{ 2 * 3 ** 2 }}", { x: 5 });

const LIT = "literal";
add(LIT, "{{ 'tab\\there' }}|{{ \"q\\\"uote\" }}|{{ 'new\\nline' }}|{{ '\\u00e9\\x41' }}|{{ 'a' 'b' }}|{{ 'back\\\\slash' }}");
add(LIT, "{{ [1, 'two', 3.5, none, true, [ ], {}] }} {{ {'a': 1, 'b': [1, {'c': null}]} }}");
add(LIT, "{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1000.0 if false else 100.0 }} {{ 3.14159 }} {{ 10 / 4 }} {{ 1 / 3 }}");
add(LIT, "{{ True }} {{ False }} {{ None }}|{{ true }} {{ none }}|");

const SL = "slice";
add(SL, "{{ xs[::-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[-2:] }} {{ xs[::2] }} {{ xs[1:4:2] }} {{ xs[10:] }} {{ xs[-100:2] }} {{ xs[3:0:-1] }}", { xs: [0, 1, 2, 3, 4] });
add(SL, "{{ s[::-1] }} {{ s[1:3] }} {{ s[-3:] }} {{ s[0] }} {{ s[-1] }} {{ xs[0] }} {{ xs[-1] }} [{{ xs[9] }}]", { s: "héllo wörld", xs: [5, 6] });
add(SL, "{{ m[0]['content'] }} {{ m[0].content }} {{ m[-1]['role'] }} [{{ m[0].missing }}] [{{ m[0]['missing'] }}] [{{ nothing.deeper.still }}]", {
  m: [{ role: "user", content: "hi" }, { role: "assistant", content: "yo" }],
});

const ME = "method";
add(ME, "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip('x') }}|{{ s.upper() }}|{{ s.lower() }}|{{ s.title() }}", { s: "  Mixed Case x  " });
add(ME, "{{ s.split(',') | tojson }} {{ s.split() | tojson }} {{ s.split(',', 1) | tojson }} {{ s.split(none, 1) | tojson }}", { s: " a, b ,,c  d " });
add(ME, "{{ s.startswith('ab') }} {{ s.startswith(('x', 'abc')) }} {{ s.endswith('yz') }} {{ s.replace('b', 'B') }} {{ s.replace('', '-') }}", { s: "abcxyz" });
add(ME, "{{ d.get('a') }} {{ d.get('zz', 'dflt') }} [{{ d.get('zz') }}] {{ d.keys() | list | tojson }} {{ d.values() | list | tojson }} {{ d.items() | list | tojson }}", { d: { a: 1, b: "two" } });
add(ME, "{{ xs.length }} {{ s.length }}", { xs: [1, 2, 3], s: "abc" });

const J = "tojson";
add(J, "{{ v | tojson }}\n{{ v | tojson(indent=2) }}\n{{ v | tojson(indent=4) }}", { v: { name: "f", args: { a: [1, 2.5, "x"], b: {}, c: [] }, flag: false, none: null } });
add(J, "{{ s | tojson }} {{ s | tojson(ensure_ascii=true) }}", { s: "é日😀\u0001\"\\/\t<>&'" });
add(J, "{{ v | tojson(separators=(',', ':')) }} {{ v | tojson(sort_keys=true) }}", { v: { b: [1, 2], a: { d: 1, c: 2 } } });
add(J, "{{ [1.0, 0.5, 1000000000000000000000.0, 0.0000001, 123456789012, -0.0] | tojson }} {{ 1000000000000000000000.0 }} {{ 0.0000001 }} {{ 0.000001 }} {{ 100000000000000000000.0 }}");
add(J, "{{ [] | tojson(indent=2) }} {{ {} | tojson(indent=2) }} {{ [[]] | tojson(indent=2) }}");

const G = "globals";
add(G, "{{ strftime_now('%Y-%m-%d %H:%M %b %B %% %S') }}");
add(G, "{{ range(3) | list | tojson }} {{ range(1, 4) | join(',') }}");

// ---- seeded random inputs ----
const ALPHABET = ["a", "b", "A", "Z", "x", " ", " ", "  ", "\t", "\n", ",", ",", ".", "-", "_", "é", "É", "ñ", "Ω", "ω", "日", "😀", "7"];
function randString(maxLen) {
  let s = "";
  const n = randInt(0, maxLen);
  for (let i = 0; i < n; ++i) s += pick(ALPHABET);
  return s;
}
for (let i = 0; i < 40; ++i) {
  add("random_string", "{{ s.split(',') | tojson }}|{{ s.split() | tojson }}|{{ s.split(',', 1) | tojson }}|[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ s | trim }}]|{{ s.replace('a', 'XY') }}|{{ s.replace(' ', '', 2) }}|{{ s.title() }}|{{ s.capitalize() }}|{{ s | length }}|{{ s[1:-1] }}|{{ s[::-1] }}|{{ s[::2] }}|{{ s.upper() }}|{{ s.lower() }}|{{ s | tojson }}|{{ s.startswith('a') }}{{ s.endswith(' ') }}|{{ 'a' in s }}", { s: randString(24) });
}
for (let i = 0; i < 40; ++i) {
  const a = randInt(-60, 60);
  let b = randInt(-60, 60);
  if (b === 0) b = 7;
  add("random_int", "{{ a + b }} {{ a - b }} {{ a * b }} {{ a // b }} {{ a % b }} {{ a / b }} {{ a ** 2 }} {{ a < b }} {{ a >= b }} {{ a == b }} {{ (a * 1.5) }} {{ a / b * 1000000 }} {{ [a, b] | sort | tojson }}", { a, b });
}
function randFloat() {
  const mag = Math.pow(10, randInt(-9, 23));
  return Number(((rand() * 2 - 1) * mag).toPrecision(randInt(1, 17)));
}
for (let i = 0; i < 30; ++i) {
  add("random_float", "{{ x }} {{ x | tojson }} {{ x * 3 }} {{ x / 7 }} {{ x | int }} {{ x | string }}", { x: randFloat() });
}
function randJson(depth) {
  const r = rand();
  if (depth > 2 || r < 0.35) {
    return pick([() => randInt(-1000, 1000), () => randFloat(), () => randString(6), () => rand() < 0.5, () => null])();
  }
  if (r < 0.65) return Array.from({ length: randInt(0, 4) }, () => randJson(depth + 1));
  const o = {};
  const n = randInt(0, 4);
  for (let k = 0; k < n; ++k) o[pick(["name", "type", "k" + randInt(0, 9), "zeta", "alpha", "é"])] = randJson(depth + 1);
  return o;
}
for (let i = 0; i < 30; ++i) {
  add("random_json", "{{ v | tojson }}\n{{ v | tojson(indent=2) }}\n{{ v }}\n{{ v | tojson(ensure_ascii=true) }}", { v: randJson(0) });
}

// ---- render ----
const out = [];
for (const c of cases) {
  const entry = { name: c.name, template: c.template, context: c.context };
  try {
    entry.expected = new Template(c.template).render(c.context);
  } catch (e) {
    entry.expected_error = String(e.message);
  }
  out.push(entry);
}
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, "features.json"),
  JSON.stringify({ renderer: "@huggingface/jinja", now_epoch_seconds: NOW_EPOCH_SECONDS, cases: out }, null, 1) + "\n",
);
const errs = out.filter((c) => c.expected_error !== undefined);
console.log(`${out.length} feature cases, ${errs.length} reference errors`);
for (const e of errs) console.log(`  ${e.name}: ${e.expected_error}`);
