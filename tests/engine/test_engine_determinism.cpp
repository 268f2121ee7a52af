// The engine's central invariant (issue 4, Acceptance "Determinism"): with greedy sampling, the
// tokens of each of many concurrent requests — shared prefixes, different lengths, arriving at
// different steps — are identical to the same request run alone, for every budget, block size,
// prefix-cache setting and speculation method, also when a tiny KV pool forces preemption.
// Seeded sampling is reproducible alone vs batched too.
//
// Parametrization point for speculation: DeterminismCase::make_proposer (+ num_speculative_
// tokens); add spec variants to spec_cases() below.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "engine/engine.h"
#include "engine_test_model.h"
#include "kernels/cpu/smooth_gemm.h"
#include "spec_test_models.h"

namespace xy {
namespace {

using testing::make_engine;
using testing::random_tokens;
using testing::test_engine_config;

struct DeterminismCase {
  std::string name;
  int budget = 64;
  int block_size = 16;
  bool prefix_caching = true;
  int num_kv_blocks = 512;
  bool tiny_pool = false;  // instead: just enough blocks for the largest request alone (+1)
  int num_speculative_tokens = 0;
  std::function<std::unique_ptr<spec::Proposer>()> make_proposer;  // null = speculation off
  DType kv_dtype = DType::kF32;  // the runs alone use the same KV dtype
};

// Speculation variants (n-gram, draft model, trees; spec_test_models.h), over budgets, block
// sizes, prefix caching and a tiny pool.
std::vector<DeterminismCase> spec_cases() {
  struct Method {
    const char* name;
    int k;
    std::function<std::unique_ptr<spec::Proposer>()> make;
  };
  const std::vector<Method> methods = {
      {"ngram", 4, [] { return testing::make_ngram_proposer(1); }},
      {"ngramtree", 6, [] { return testing::make_ngram_proposer(3); }},
      {"draft", 3, [] { return testing::make_draft_proposer(false); }},
      {"drafttree", 6, [] { return testing::make_draft_proposer(false, 2); }},
      {"selfdrafttree", 6, [] { return testing::make_draft_proposer(true, 3, true); }},
  };
  std::vector<DeterminismCase> out;
  for (const Method& m : methods) {
    for (int budget : {16, 64}) {
      DeterminismCase c;
      c.name = std::string("spec_") + m.name + "_budget" + std::to_string(budget) +
               (budget == 16 ? "_block1_noprefix" : "_block16_prefix");
      c.budget = budget;
      c.block_size = budget == 16 ? 1 : 16;
      c.prefix_caching = budget != 16;
      c.num_kv_blocks = 8192 / c.block_size;
      c.num_speculative_tokens = m.k;
      c.make_proposer = m.make;
      out.push_back(c);
    }
    DeterminismCase c;
    c.name = std::string("spec_") + m.name + "_tinypool";
    c.block_size = 16;
    c.tiny_pool = true;
    c.num_speculative_tokens = m.k;
    c.make_proposer = m.make;
    out.push_back(c);
  }
  return out;
}

std::vector<DeterminismCase> matrix_cases() {
  std::vector<DeterminismCase> out;
  for (int budget : {16, 64, 512}) {
    for (int bs : {1, 16}) {
      for (bool prefix : {false, true}) {
        DeterminismCase c;
        c.name = "budget" + std::to_string(budget) + "_block" + std::to_string(bs) +
                 (prefix ? "_prefix" : "_noprefix");
        c.budget = budget;
        c.block_size = bs;
        c.prefix_caching = prefix;
        c.num_kv_blocks = 8192 / bs;
        out.push_back(c);
      }
    }
  }
  // Tiny pools: the largest request fits alone, a handful at once do not.
  for (int bs : {1, 16}) {
    for (bool prefix : {false, true}) {
      DeterminismCase c;
      c.name = std::string("tinypool_block") + std::to_string(bs) + (prefix ? "_prefix" : "");
      c.budget = 64;
      c.block_size = bs;
      c.prefix_caching = prefix;
      c.tiny_pool = true;
      out.push_back(c);
    }
  }
  for (DeterminismCase& c : spec_cases()) out.push_back(c);
  return out;
}

struct Workload {
  std::vector<EngineRequest> requests;
  std::vector<int> arrival_step;
};

// num_requests requests over 3 shared prefixes (lengths chosen to end inside 16-token blocks, so
// copy-on-write of partial blocks happens), some with identical prompts, varied output lengths.
Workload make_workload(int num_requests, uint64_t seed, bool sampled) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  const int vocab = testing::tiny_model().tokenizer_vocab;
  const std::vector<std::vector<int32_t>> prefixes = {
      random_tokens(rng, 20, vocab), random_tokens(rng, 37, vocab), random_tokens(rng, 50, vocab)};
  Workload w;
  for (int i = 0; i < num_requests; ++i) {
    std::vector<int32_t> prompt = prefixes[static_cast<size_t>(i % 3)];
    if (i % 5 != 4) {  // every fifth request repeats its prefix exactly: a full-prompt hit
      const std::vector<int32_t> tail = random_tokens(rng, 1 + (i * 7) % 25, vocab);
      prompt.insert(prompt.end(), tail.begin(), tail.end());
    }
    EngineRequest r;
    r.prompt_tokens = std::move(prompt);
    r.max_tokens = 4 + (i * 5) % 21;
    r.stop.ignore_eos = true;
    if (sampled) {
      r.sampling.temperature = 0.8f;
      r.sampling.top_p = 0.9f;
      r.sampling.seed = 1000 + static_cast<uint64_t>(i);
    } else {
      r.sampling.temperature = 0.0f;
    }
    w.requests.push_back(std::move(r));
    w.arrival_step.push_back((i % 6) * 2);
  }
  return w;
}

// Each request alone on a roomy engine.
std::vector<std::vector<int32_t>> run_alone(const Workload& w,
                                            const testing::TinyModel* model = nullptr,
                                            DType kv_dtype = DType::kF32) {
  EngineConfig cfg = test_engine_config(512, 16, 1024, /*prefix=*/false);
  cfg.kv_dtype = kv_dtype;
  auto engine = make_engine(cfg, nullptr, model);
  std::vector<std::vector<int32_t>> out;
  for (const EngineRequest& r : w.requests) {
    Result<std::vector<StreamDelta>> res = engine->generate({r});
    XY_CHECK(res.is_ok());
    out.push_back((*res)[0].token_ids);
  }
  return out;
}

struct BatchedRun {
  std::vector<std::vector<int32_t>> tokens;
  EngineStats stats;
};

// All requests on one engine, each added at its arrival step, the pool checked after each step.
BatchedRun run_batched(const Workload& w, const DeterminismCase& c,
                       const testing::TinyModel* model = nullptr) {
  int num_blocks = c.num_kv_blocks;
  if (c.tiny_pool) {
    num_blocks = 0;
    for (const EngineRequest& r : w.requests) {
      const int total = static_cast<int>(r.prompt_tokens.size()) + r.max_tokens;
      num_blocks = std::max(num_blocks, (total + c.block_size - 1) / c.block_size + 1);
    }
  }
  EngineConfig cfg = test_engine_config(c.budget, c.block_size, num_blocks, c.prefix_caching);
  cfg.num_speculative_tokens = c.num_speculative_tokens;
  cfg.kv_dtype = c.kv_dtype;
  auto engine = make_engine(cfg, c.make_proposer ? c.make_proposer() : nullptr, model);
  std::vector<RequestHandle> handles(w.requests.size());
  size_t added = 0;
  for (int step = 0; added < w.requests.size() || engine->has_unfinished(); ++step) {
    for (size_t i = 0; i < w.requests.size(); ++i) {
      if (w.arrival_step[i] == step) {
        Result<RequestHandle> h = engine->add_request(w.requests[i]);
        XY_CHECK_MSG(h.is_ok(), h.status().to_string().c_str());
        handles[i] = *h;
        ++added;
      }
    }
    XY_CHECK(engine->step().is_ok());
    const Status kv = engine->validate_kv();
    XY_CHECK_MSG(kv.is_ok(), kv.to_string().c_str());
    XY_CHECK(step < 100000);
  }
  BatchedRun out;
  for (RequestHandle& h : handles) {
    StreamDelta all;
    while (std::optional<StreamDelta> d = h.stream->try_next()) all.merge(std::move(*d));
    XY_CHECK(all.finished);
    out.tokens.push_back(all.token_ids);
  }
  out.stats = engine->stats();
  XY_CHECK(engine->num_used_kv_blocks() == 0);
  return out;
}

const std::vector<std::vector<int32_t>>& greedy_reference(const Workload& w, int num_requests,
                                                          const testing::TinyModel* model,
                                                          DType kv_dtype) {
  static std::map<std::tuple<const void*, int, DType>, std::vector<std::vector<int32_t>>> cache;
  const std::tuple<const void*, int, DType> key{model, num_requests, kv_dtype};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, run_alone(w, model, kv_dtype)).first;
  return it->second;
}

void expect_same_as_alone(const DeterminismCase& c, int num_requests,
                          const testing::TinyModel* model = nullptr) {
  const Workload w = make_workload(num_requests, /*seed=*/42, /*sampled=*/false);
  const std::vector<std::vector<int32_t>>& alone =
      greedy_reference(w, num_requests, model, c.kv_dtype);
  const BatchedRun batched = run_batched(w, c, model);
  for (size_t i = 0; i < alone.size(); ++i) {
    EXPECT_EQ(batched.tokens[i], alone[i]) << c.name << ": request " << i;
    EXPECT_EQ(static_cast<int>(batched.tokens[i].size()), w.requests[i].max_tokens);
  }
  if (c.tiny_pool) {
    EXPECT_GT(batched.stats.num_preemptions, 0) << c.name << ": the tiny pool should preempt";
  }
  if (c.prefix_caching && !c.tiny_pool) {  // a tiny pool may evict before any reuse
    EXPECT_GT(batched.stats.prefix_cache_hits, 0) << c.name;
  }
}

class EngineDeterminismLongRunning : public ::testing::TestWithParam<DeterminismCase> {};

TEST_P(EngineDeterminismLongRunning, BatchedEqualsAlone) {
  expect_same_as_alone(GetParam(), 18);
}

INSTANTIATE_TEST_SUITE_P(Matrix, EngineDeterminismLongRunning, ::testing::ValuesIn(matrix_cases()),
                         [](const ::testing::TestParamInfo<DeterminismCase>& info) {
                           return info.param.name;
                         });

// The small version that also runs under the sanitizers: a few corners of the matrix.
TEST(EngineDeterminism, SmallMatrix) {
  for (const DeterminismCase& c : matrix_cases()) {
    if (c.name == "budget16_block1_prefix" || c.name == "budget512_block16_noprefix" ||
        c.name == "tinypool_block16_prefix") {
      expect_same_as_alone(c, 8);
    }
  }
}

// The same invariant on quantized GGUF models running on QuantGEMM (issue 11): Q8_0 and Q4_K_M
// (Q4_K with Q6_K for attn_v / ffn_down / lm_head), over corners of the matrix that cover
// budgets, block sizes, prefix hits, preemption and both speculation families. As serve runs
// them by default: bf16 KV (--kv-dtype auto) and attention in bf16 (--compute-dtype auto).
TEST(EngineDeterminism, QuantizedModels) {
  for (gguf::OutType type : {gguf::OutType::kQ8_0, gguf::OutType::kQ4_K_M}) {
    const testing::TinyModel& model = testing::quantized_tiny_model(type);
    int ran = 0;
    for (DeterminismCase c : matrix_cases()) {
      if (c.name == "budget16_block1_prefix" || c.name == "budget512_block16_noprefix" ||
          c.name == "tinypool_block16_prefix" || c.name == "spec_ngram_budget64_block16_prefix" ||
          c.name == "spec_draft_budget16_block1_noprefix") {
        SCOPED_TRACE(type == gguf::OutType::kQ8_0 ? "q8_0" : "q4_k_m");
        c.kv_dtype = DType::kBF16;
        expect_same_as_alone(c, 8, &model);
        ++ran;
      }
    }
    EXPECT_EQ(ran, 5) << "a case name above no longer exists";
  }
}

// The default mode of `xyserve serve` on a bf16 checkpoint (--compute-dtype auto: bf16 dot
// products on CPUs with AVX-512 BF16): activations are rounded to bf16 per row, so batching must
// still leave every row's bits alone, with bf16 KV as serve would pick (--kv-dtype auto).
TEST(EngineDeterminism, Bf16CheckpointInTheDefaultComputeMode) {
  const testing::TinyModel& model = testing::bf16_tiny_model();
  if (cpu::gemm_isa_supported(cpu::GemmIsa::kAvx512Bf16)) {
    EXPECT_EQ(model.model->compute_dtype(), ComputeDtype::kBf16);
  } else {
    EXPECT_EQ(model.model->compute_dtype(), ComputeDtype::kF32);  // auto falls back to exact
  }
  int ran = 0;
  for (DeterminismCase c : matrix_cases()) {
    if (c.name == "budget16_block1_prefix" || c.name == "budget512_block16_noprefix" ||
        c.name == "tinypool_block16_prefix" || c.name == "spec_ngram_budget64_block16_prefix" ||
        c.name == "spec_drafttree_budget16_block1_noprefix") {
      c.kv_dtype = DType::kBF16;
      expect_same_as_alone(c, 8, &model);
      ++ran;
    }
  }
  EXPECT_EQ(ran, 5) << "a case name above no longer exists";
}

// --kv-dtype int8 (codes + per-row scales): the scales must follow their rows through prefix-cache
// copy-on-write, preemption and tree-verify compaction.
TEST(EngineDeterminism, Int8KvCache) {
  int ran = 0;
  for (DeterminismCase c : matrix_cases()) {
    if (c.name == "budget16_block1_prefix" || c.name == "budget64_block16_prefix" ||
        c.name == "tinypool_block16_prefix" || c.name == "spec_ngramtree_budget64_block16_prefix" ||
        c.name == "spec_drafttree_budget16_block1_noprefix") {
      c.kv_dtype = DType::kI8;
      expect_same_as_alone(c, 8);
      ++ran;
    }
  }
  EXPECT_EQ(ran, 5) << "a case name above no longer exists";
}

TEST(EngineDeterminism, SeededSamplingAloneEqualsBatched) {
  const Workload w = make_workload(10, /*seed=*/7, /*sampled=*/true);
  const std::vector<std::vector<int32_t>> alone = run_alone(w);
  DeterminismCase c;
  c.name = "sampled_tinypool";
  c.budget = 32;
  c.block_size = 16;
  c.tiny_pool = true;
  const BatchedRun batched = run_batched(w, c);
  for (size_t i = 0; i < alone.size(); ++i) {
    EXPECT_EQ(batched.tokens[i], alone[i]) << "request " << i;
  }
  EXPECT_GT(batched.stats.num_preemptions, 0);
}

}  // namespace
}  // namespace xy
