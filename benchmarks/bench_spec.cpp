// Proposer overhead per engine step, host side only (no model): the n-gram index keeps up with a
// growing sequence (extend by the step's new tokens + one lookup), against a plain rescan of the
// whole history, which is what an index-free prompt lookup would do every step.
//
//   build/benchmarks/bench_spec --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/spec/ngram_index.h"

namespace {

std::vector<int32_t> loopy_tokens(int n) {
  // Random text with repeats, like real generations: 30% of tokens copy an earlier span.
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> tok(0, 32000);
  std::vector<int32_t> t;
  while (static_cast<int>(t.size()) < n) {
    if (t.size() > 16 && rng() % 10 < 3) {
      const size_t from = rng() % (t.size() - 8);
      for (size_t i = 0; i < 6; ++i) t.push_back(t[from + i]);
    } else {
      t.push_back(tok(rng));
    }
  }
  t.resize(static_cast<size_t>(n));
  return t;
}

// One step = 2 new tokens, then a lookup; reported per step at the given history length.
void BM_NgramIndexStep(benchmark::State& state) {
  const int history = static_cast<int>(state.range(0));
  const std::vector<int32_t> all = loopy_tokens(history + 4096);
  for (auto _ : state) {
    state.PauseTiming();
    xy::spec::NgramIndex index(2, 4, 1);
    index.extend(std::span(all).first(static_cast<size_t>(history)));
    state.ResumeTiming();
    for (int step = 0; step < 256; ++step) {
      const auto tokens = std::span(all).first(static_cast<size_t>(history + 2 * step + 2));
      index.extend(tokens);
      benchmark::DoNotOptimize(index.continuations(tokens));
    }
  }
  state.SetItemsProcessed(state.iterations() * 256);  // steps
}
BENCHMARK(BM_NgramIndexStep)->Arg(512)->Arg(4096)->Arg(32768);

// The same lookup by scanning the history backwards for the longest suffix match.
void BM_NgramRescanStep(benchmark::State& state) {
  const int history = static_cast<int>(state.range(0));
  const std::vector<int32_t> all = loopy_tokens(history + 4096);
  for (auto _ : state) {
    for (int step = 0; step < 256; ++step) {
      const int last = history + 2 * step + 1;
      int found = -1;
      for (int n = 4; n >= 2 && found < 0; --n) {
        for (int end = last - 1; end >= n - 1; --end) {
          bool same = true;
          for (int i = 0; i < n && same; ++i) same = all[end - i] == all[last - i];
          if (same) {
            found = end + 1;
            break;
          }
        }
      }
      benchmark::DoNotOptimize(found);
    }
  }
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_NgramRescanStep)->Arg(512)->Arg(4096)->Arg(32768);

}  // namespace

BENCHMARK_MAIN();
