// libFuzzer driver for structured-output grammars: the first byte picks the front end (JSON
// Schema, regex, GBNF), the rest is its text. Compilation must succeed or return a Status; a
// grammar that compiles is then run: masks over a 256-byte vocabulary and a walk over the
// input's own bytes. Never a crash, a hang or unbounded memory. Seeds: fuzz/corpus/grammar/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "grammar/grammar_compiler.h"
#include "grammar/matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  static const auto vocab = [] {
    std::vector<std::string> t;
    for (int b = 0; b < 256; ++b) t.push_back(std::string(1, static_cast<char>(b)));
    t.push_back("{\"");
    t.push_back("\":");
    return xy::grammar::TokenVocabulary::from_bytes(std::move(t));
  }();
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  xy::grammar::GrammarSpec spec;
  switch (data[0] % 3) {
    case 0:
      spec = xy::grammar::GrammarSpec::json_schema(text);
      break;
    case 1:
      spec = xy::grammar::GrammarSpec::regex(text);
      break;
    default:
      spec = xy::grammar::GrammarSpec::ebnf(text);
      break;
  }
  auto g = xy::grammar::build_grammar(spec);
  if (!g.is_ok()) return 0;
  if ((*g)->num_elements() > 20000) return 0;  // large but legal: compiling is what was tested
  auto compiled = std::make_shared<const xy::grammar::CompiledGrammar>(*g, vocab, "fuzz");
  xy::grammar::GrammarMatcher m(compiled, {257});
  std::vector<uint32_t> mask(m.mask_words());
  for (size_t i = 0; i < text.size() && i < 64; ++i) {
    m.fill_next_token_mask(mask);
    (void)m.forced_text();
    if (!m.accept_token(static_cast<uint8_t>(text[i]))) break;
  }
  m.rollback(m.num_accepted());
  return 0;
}
