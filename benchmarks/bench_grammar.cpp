// Structured-output costs on a real vocabulary (Llama-3, 128k tokens; Qwen3, 152k):
//   Compile      a typical JSON Schema to a grammar and its automaton's start state;
//   MaskCold     one token mask computed from scratch (trie walk over the vocabulary) at the
//                start of an object and inside a string, the two extremes: almost every token
//                is rejected at the first byte / almost every token is accepted;
//   MaskWarm     the same mask again (cached per automaton state): what steady-state steps pay;
//   Generate     every mask and token advance of one whole constrained output, cold caches.
// Run: build/benchmarks/bench_grammar --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "grammar/grammar_compiler.h"
#include "grammar/matcher.h"
#include "tokenizer/tokenizer.h"

namespace {

using namespace xy;
using namespace xy::grammar;

const char* kSchema = R"({"type":"object","properties":{
  "name":{"type":"string","maxLength":40},
  "age":{"type":"integer","minimum":0,"maximum":150},
  "email":{"type":"string","format":"email"},
  "address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"},
    "zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["city"]},
  "tags":{"type":"array","items":{"type":"string"},"maxItems":8},
  "status":{"enum":["active","inactive","banned"]},
  "scores":{"type":"array","items":{"type":"number"}}},
  "required":["name","age","email","status"]})";

const char* kOutput =
    R"({"name": "Ada Lovelace", "age": 36, "email": "ada@example.org", "address": {"street": "12 St James's Square", "city": "London", "zip": "10001"}, "tags": ["math", "poetry", "engines"], "status": "active", "scores": [9.5, 10, 8.25]})";

struct Vocab {
  std::unique_ptr<Tokenizer> tokenizer;
  std::shared_ptr<const TokenVocabulary> vocab;
};

const Vocab& vocab(const std::string& name) {
  static std::map<std::string, Vocab> cache;
  Vocab& v = cache[name];
  if (!v.tokenizer) {
    auto t = Tokenizer::load_dir(std::string(XY_TESTDATA_DIR) + "/tokenizer/" + name);
    if (!t.is_ok()) std::abort();
    v.tokenizer = std::move(t).value();
    v.vocab = TokenVocabulary::from_tokenizer(*v.tokenizer, v.tokenizer->vocab_size());
  }
  return v;
}

std::shared_ptr<const CompiledGrammar> fresh(const std::string& name) {
  auto g = build_grammar(GrammarSpec::json_schema(kSchema));
  if (!g.is_ok()) std::abort();
  return std::make_shared<const CompiledGrammar>(*g, vocab(name).vocab, "bench");
}

void Compile(benchmark::State& state, const std::string& name) {
  vocab(name);
  for (auto _ : state) benchmark::DoNotOptimize(fresh(name));
}

// prefix: bytes accepted before the mask is taken.
void MaskCold(benchmark::State& state, const std::string& name, const std::string& prefix) {
  std::vector<uint32_t> mask;
  for (auto _ : state) {
    state.PauseTiming();
    GrammarMatcher m(fresh(name), {*vocab(name).tokenizer->eos_id()});
    if (!m.accept_bytes(prefix)) std::abort();
    mask.resize(m.mask_words());
    state.ResumeTiming();
    m.fill_next_token_mask(mask);
  }
}

void MaskWarm(benchmark::State& state, const std::string& name, const std::string& prefix) {
  GrammarMatcher m(fresh(name), {*vocab(name).tokenizer->eos_id()});
  if (!m.accept_bytes(prefix)) std::abort();
  std::vector<uint32_t> mask(m.mask_words());
  m.fill_next_token_mask(mask);
  for (auto _ : state) {
    m.fill_next_token_mask(mask);
    benchmark::DoNotOptimize(mask.data());
  }
}

void Generate(benchmark::State& state, const std::string& name, bool warm) {
  const Vocab& v = vocab(name);
  auto ids = v.tokenizer->encode(kOutput, false);
  if (!ids.is_ok()) std::abort();
  auto shared = fresh(name);
  std::vector<uint32_t> mask;
  for (auto _ : state) {
    auto g = warm ? shared : fresh(name);
    GrammarMatcher m(g, {*v.tokenizer->eos_id()});
    mask.resize(m.mask_words());
    for (int32_t id : *ids) {
      m.fill_next_token_mask(mask);
      if (!(mask[id >> 5] >> (id & 31) & 1) || !m.accept_token(id)) std::abort();
    }
  }
  state.counters["tokens"] = static_cast<double>(ids->size());
  state.counters["us_per_token"] = benchmark::Counter(
      static_cast<double>(ids->size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace

int main(int argc, char** argv) {
  for (const std::string name : {"llama3", "qwen3"}) {
    benchmark::RegisterBenchmark(("Compile/" + name).c_str(), Compile, name)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("MaskCold/object_start/" + name).c_str(), MaskCold, name,
                                 std::string("{"))
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("MaskCold/in_string/" + name).c_str(), MaskCold, name,
                                 std::string("{\"name\": \"Ad"))
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("MaskWarm/in_string/" + name).c_str(), MaskWarm, name,
                                 std::string("{\"name\": \"Ad"))
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("Generate/cold/" + name).c_str(), Generate, name, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Generate/warm/" + name).c_str(), Generate, name, true)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
