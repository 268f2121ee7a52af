// Tokenizer encode throughput on the golden text mix of each real tokenizer in testdata/tokenizer
// (prose, code, CJK, emoji, ...): the whole mix and its pure-ASCII part, ~1 MB per call, single
// thread. Reports bytes/s and tokens/s.
//   build/benchmarks/bench_tokenizer --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tokenizer/tokenizer.h"

namespace {

struct Corpus {
  std::unique_ptr<xy::Tokenizer> tok;
  std::string mixed, ascii;
};

const Corpus& corpus(const std::string& name) {
  static std::map<std::string, Corpus> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const std::string dir = std::string(XY_TESTDATA_DIR "/tokenizer/") + name;
  Corpus c;
  auto tok = xy::Tokenizer::load_dir(dir);
  if (!tok) {
    std::fprintf(stderr, "%s\n", tok.status().to_string().c_str());
    std::abort();
  }
  c.tok = std::move(*tok);
  std::ifstream in(dir + "/golden.json", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json golden = nlohmann::json::parse(ss.str());
  std::string mixed, ascii;
  for (const auto& g : golden.at("cases")) {
    const std::string t = g.at("text").get<std::string>();
    mixed += t + '\n';
    bool is_ascii = true;
    for (char ch : t) is_ascii = is_ascii && static_cast<unsigned char>(ch) < 0x80;
    if (is_ascii) ascii += t + '\n';
  }
  if (mixed.empty() || ascii.empty()) {
    std::fprintf(stderr, "%s/golden.json: no texts\n", dir.c_str());
    std::abort();
  }
  while (c.mixed.size() < (1u << 20)) c.mixed += mixed;
  while (c.ascii.size() < (1u << 20)) c.ascii += ascii;
  return cache.emplace(name, std::move(c)).first->second;
}

void BM_Encode(benchmark::State& state, const std::string& name, bool ascii_only) {
  const Corpus& c = corpus(name);
  const std::string& text = ascii_only ? c.ascii : c.mixed;
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = c.tok->encode(text, false);
    if (!ids) state.SkipWithError("encode failed");
    tokens += ids ? ids->size() : 0;
    benchmark::DoNotOptimize(ids);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  for (const char* name : {"llama3", "qwen3", "gemma3", "llama2"}) {
    for (bool ascii : {false, true}) {
      benchmark::RegisterBenchmark(
          (std::string("tokenizer/encode/") + name + (ascii ? "/ascii" : "/mixed")).c_str(),
          BM_Encode, std::string(name), ascii)
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
