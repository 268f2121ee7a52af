// Table-driven multi-step scheduler simulations without a model (sched_simulator.h does the
// per-step checks). Each scenario also ends with every block back in the pool.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "sched_simulator.h"

namespace xy::testing {
namespace {

struct Workload {
  int num_requests = 24;
  int min_prompt = 1, max_prompt = 200;
  int min_output = 1, max_output = 40;
  int arrival_spread_steps = 30;  // arrivals uniform in [0, spread)
  int num_shared_prefixes = 3;    // prompts start with one of these (0: none)
  int shared_prefix_len = 40;
  double abort_probability = 0.0;
  int num_priorities = 1;  // priorities drawn from [0, num_priorities)
};

std::vector<SimArrival> make_workload(const Workload& w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<std::vector<int32_t>> prefixes;
  for (int p = 0; p < w.num_shared_prefixes; ++p) {
    std::vector<int32_t> prefix;
    for (int i = 0; i < w.shared_prefix_len; ++i) prefix.push_back(uniform(0, 999));
    prefixes.push_back(prefix);
  }
  std::vector<SimArrival> arrivals;
  for (int i = 0; i < w.num_requests; ++i) {
    SimArrival a;
    a.step = uniform(0, w.arrival_spread_steps - 1);
    a.request.id = 100 + i;
    const int len = uniform(w.min_prompt, w.max_prompt);
    if (!prefixes.empty() && uniform(0, 3) != 0) {
      const auto& prefix = prefixes[static_cast<size_t>(uniform(0, w.num_shared_prefixes - 1))];
      // Cut the shared prefix at a random point so matches end inside blocks, too.
      const int keep = std::min(len, uniform(1, static_cast<int>(prefix.size())));
      a.request.prompt_tokens.assign(prefix.begin(), prefix.begin() + keep);
    }
    while (static_cast<int>(a.request.prompt_tokens.size()) < len) {
      a.request.prompt_tokens.push_back(uniform(0, 999));
    }
    a.request.max_output_tokens = uniform(w.min_output, w.max_output);
    a.request.priority = uniform(0, w.num_priorities - 1);
    if (w.abort_probability > 0 && std::bernoulli_distribution(w.abort_probability)(rng)) {
      a.abort_step = a.step + uniform(0, 40);
    }
    arrivals.push_back(std::move(a));
  }
  return arrivals;
}

struct Scenario {
  const char* name;
  int budget;
  int max_seqs;
  int num_blocks;
  int block_size;
  bool prefix_caching;
  bool priority;
  int max_drafts;
  Workload workload;
};

// Pools from roomy to tiny (preemption-heavy), block sizes 1 / 4 / 16, budgets 16 to 512.
const Scenario kScenarios[] = {
    {"roomy_fcfs", 256, 32, 512, 16, true, false, 0, {}},
    {"no_prefix_cache", 128, 16, 256, 16, false, false, 0, {}},
    {"block_size_1", 64, 16, 3000, 1, true, false, 0, {}},
    {"tiny_budget", 16, 8, 256, 4, true, false, 0, {}},
    {"tiny_pool_preempts", 64, 16, 40, 8, true, false, 0, {}},
    {"tiny_pool_block1", 48, 12, 260, 1, true, false, 2, {}},
    {"speculative", 96, 16, 300, 16, true, false, 4, {}},
    {"speculative_tiny_pool", 64, 16, 36, 8, true, false, 3, {}},
    {"priorities", 64, 8, 60, 8, true, true, 0, {.num_priorities = 4}},
    {"priorities_spec", 128, 16, 80, 16, true, true, 2, {.num_priorities = 3}},
    {"random_aborts", 64, 16, 48, 8, true, false, 2, {.abort_probability = 0.4}},
    {"aborts_priorities",
     32,
     8,
     50,
     4,
     true,
     true,
     0,
     {.abort_probability = 0.3, .num_priorities = 2}},
    {"big_budget_many",
     512,
     64,
     400,
     16,
     true,
     false,
     0,
     {.num_requests = 80, .arrival_spread_steps = 10}},
};

// 4 seeds per scenario in the suite; XY_SCHED_SIM_SEEDS=N for a longer soak run.
uint64_t num_seeds() {
  const char* env = std::getenv("XY_SCHED_SIM_SEEDS");
  return env != nullptr && std::atoi(env) > 0 ? static_cast<uint64_t>(std::atoi(env)) : 4;
}

class SchedSimulation : public ::testing::TestWithParam<Scenario> {};

TEST_P(SchedSimulation, InvariantsHoldAndEveryBlockReturns) {
  const Scenario& sc = GetParam();
  struct {
    int preemptions = 0, copies = 0, hit_tokens = 0, verifies = 0, chunked = 0;
  } totals;
  for (uint64_t seed = 1; seed <= num_seeds(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimOptions opt;
    opt.config.max_num_batched_tokens = sc.budget;
    opt.config.max_num_seqs = sc.max_seqs;
    opt.config.priority_scheduling = sc.priority;
    opt.config.starvation_steps = 20;
    opt.num_blocks = sc.num_blocks;
    opt.block_size = sc.block_size;
    opt.prefix_caching = sc.prefix_caching;
    opt.max_draft_tokens = sc.max_drafts;
    opt.seed = seed;
    SchedSimulator sim(opt);
    const std::vector<SimArrival> arrivals = make_workload(sc.workload, seed * 7919);
    const SimResult result = sim.run(arrivals);
    ASSERT_TRUE(result.completed) << "did not finish within " << opt.max_steps << " steps";
    // Every request is accounted for; finished ones produced exactly their tokens, in the order
    // a solo run would (outputs are a function of position, so recompute must reproduce them).
    for (const SimArrival& a : arrivals) {
      const SeqId id = a.request.id;
      if (result.rejected.count(id) || result.aborted.count(id)) continue;
      ASSERT_TRUE(result.outputs.count(id)) << "request " << id << " vanished";
      const std::vector<int32_t>& out = result.outputs.at(id);
      ASSERT_EQ(static_cast<int>(out.size()), a.request.max_output_tokens);
      for (size_t j = 0; j < out.size(); ++j) {
        ASSERT_EQ(out[j], fake_token(id, static_cast<int>(a.request.prompt_tokens.size() + j)));
      }
    }
    sim.expect_pool_fully_returned();
    for (const SimStepLog& step : result.steps) {
      totals.preemptions += static_cast<int>(step.preempted.size());
      totals.copies += step.num_copies;
      for (const SimSegmentLog& seg : step.segments) {
        totals.hit_tokens += seg.num_prefix_hit_tokens;
        totals.verifies += seg.kind == SegmentKind::kVerify;
        totals.chunked +=
            seg.kind == SegmentKind::kPrefill && seg.num_prefix_hit_tokens == 0 && seg.kv_len > 0;
      }
    }
  }
  // The scenarios exercise what their names say.
  const std::string name = sc.name;
  if (name.find("tiny_pool") != std::string::npos) {
    EXPECT_GT(totals.preemptions, 0);
  }
  if (sc.prefix_caching) {
    EXPECT_GT(totals.hit_tokens, 0);
  }
  if (sc.prefix_caching && sc.block_size > 1) {
    EXPECT_GT(totals.copies, 0);
  }
  if (sc.max_drafts > 0) {
    EXPECT_GT(totals.verifies, 0);
  }
  EXPECT_GT(totals.chunked, 0);
  std::printf("%-24s preemptions %4d  cow copies %4d  hit tokens %6d  verifies %5d\n", sc.name,
              totals.preemptions, totals.copies, totals.hit_tokens, totals.verifies);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, SchedSimulation, ::testing::ValuesIn(kScenarios),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace xy::testing
