// Bitwise batch invariance of meta-attention: a sequence's output rows are identical (memcmp)
// whether it runs alone or inside a mixed step with others, with 1, 2 or 7 workers, split or
// not, wherever its blocks lie in the pool, and however its prompt was chunked into steps
// (including one token at a time as decodes). Checked on every ISA path separately.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/worker_pool.h"
#include "kernels/cpu/attention_plan.h"
#include "kernels/cpu/meta_attention.h"
#include "meta_attention_test_util.h"

namespace xy::cpu {
namespace {

using testing::AttnDims;
using testing::AttnStep;
using testing::SeqSpec;

std::vector<AttentionIsa> isas() {
  std::vector<AttentionIsa> out{AttentionIsa::kScalar};
  if (attention_isa_supported(AttentionIsa::kAvx2)) out.push_back(AttentionIsa::kAvx2);
  return out;
}

struct RunConfig {
  int workers = 1;
  bool allow_split = true;
};

std::vector<float> run(const AttnStep& st, int window, const RunConfig& cfg, AttentionIsa isa) {
  const AttentionShape shape{st.dims.n_heads(), st.dims.n_kv_heads, st.dims.head_dim,
                             st.dims.block_size, window};
  AttentionPlanOptions options;
  options.allow_split = cfg.allow_split;
  const AttentionPlan plan = plan_attention(st.table, shape, cfg.workers, options);
  WorkerPool pool(WorkerPoolOptions{cfg.workers, false, false, 50});
  AttentionWorkspace ws;
  std::vector<float> out(st.q.size());
  run_attention_with(plan, st.table, st.q.data(), st.layer, out.data(), pool, ws, isa);
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Other traffic to mix in around the sequence under test.
std::vector<SeqSpec> others(uint64_t base) {
  return {{base + 1, 700, 1, SegmentKind::kDecode, false},
          {base + 2, 40, 30, SegmentKind::kPrefill, false},
          {base + 3, 3000, 1, SegmentKind::kDecode, false},
          {base + 4, 120, 6, SegmentKind::kVerify, true},
          {base + 5, 0, 50, SegmentKind::kPrefill, false},
          {base + 6, 260, 4, SegmentKind::kVerify, false}};
}

class Invariance : public ::testing::TestWithParam<int /*window*/> {};

TEST_P(Invariance, AloneVsMixedStepsWorkersAndSplits) {
  const int window = GetParam();
  AttnDims dims;
  dims.n_kv_heads = 2;
  dims.group = 4;
  dims.head_dim = 64;
  dims.block_size = 16;
  // Sequences under test: a long decode (split-KV when alone), a prefill chunk with prefix, a
  // chain verify and a tree verify.
  const std::vector<SeqSpec> subjects = {{901, 2500, 1, SegmentKind::kDecode, false},
                                         {902, 300, 37, SegmentKind::kPrefill, false},
                                         {903, 511, 5, SegmentKind::kVerify, false},
                                         {904, 257, 7, SegmentKind::kVerify, true}};
  const std::vector<RunConfig> configs = {{1, true}, {2, true}, {7, true}, {2, false}};
  for (AttentionIsa isa : isas()) {
    for (const SeqSpec& subject : subjects) {
      const AttnStep alone = testing::make_attn_step({subject}, dims, 1);
      const std::vector<float> want = run(alone, window, {1, false}, isa);
      for (const RunConfig& cfg : configs) {
        EXPECT_TRUE(same_bits(run(alone, window, cfg, isa), want))
            << "alone, workers " << cfg.workers << " split " << cfg.allow_split;
        // Mixed in the middle of other traffic, blocks placed differently.
        std::vector<SeqSpec> mix = others(subject.seed * 10);
        mix.insert(mix.begin() + 3, subject);
        const AttnStep mixed = testing::make_attn_step(mix, dims, 77);
        int row = 0;
        for (int s = 0; s < 3; ++s) row += mix[static_cast<size_t>(s)].num_tokens;
        const std::vector<float> got =
            testing::rows_of(run(mixed, window, cfg, isa), dims, row, subject.num_tokens);
        EXPECT_TRUE(same_bits(got, want))
            << "mixed, seq " << subject.seed << " workers " << cfg.workers << " split "
            << cfg.allow_split << " isa " << attention_isa_name(isa);
      }
    }
  }
}

TEST_P(Invariance, PromptChunkingAndDecodes) {
  const int window = GetParam();
  AttnDims dims;
  dims.n_kv_heads = 1;
  dims.group = 2;
  dims.head_dim = 128;
  dims.block_size = 16;
  const uint64_t seed = 4242;
  // Chunkings of the same 700-token prompt: whole, two, uneven pieces. Each piece runs as a
  // prefill segment with kv_len = tokens before it, among other traffic.
  const std::vector<std::vector<int>> chunkings = {
      {700}, {350, 350}, {1, 255, 256, 1, 187}, {300, 100, 17, 283}};
  for (AttentionIsa isa : isas()) {
    std::vector<float> want;  // [prompt, n_heads, head_dim] from the single-chunk run
    for (const std::vector<int>& pieces : chunkings) {
      std::vector<float> got;
      int done = 0;
      int step = 0;
      for (int len : pieces) {
        std::vector<SeqSpec> mix = others(static_cast<uint64_t>(step) * 100);
        mix.resize(static_cast<size_t>(step % 4));  // 0..3 neighbours before it
        const int row = [&] {
          int r = 0;
          for (const SeqSpec& s : mix) r += s.num_tokens;
          return r;
        }();
        mix.push_back({seed, done, len, SegmentKind::kPrefill, false});
        const AttnStep st = testing::make_attn_step(mix, dims, static_cast<uint32_t>(step + 3));
        const RunConfig cfg{1 + step % 3, true};
        const std::vector<float> rows = testing::rows_of(run(st, window, cfg, isa), dims, row, len);
        got.insert(got.end(), rows.begin(), rows.end());
        done += len;
        ++step;
      }
      if (want.empty()) {
        want = got;
      } else {
        EXPECT_TRUE(same_bits(got, want)) << "chunking with " << pieces.size() << " pieces";
      }
    }
    // The last tokens of the prompt as decodes (kv_len = index), one per step, in a batch.
    const size_t row_floats = static_cast<size_t>(dims.n_heads()) * dims.head_dim;
    for (int t : {0, 1, 255, 256, 257, 511, 699}) {
      std::vector<SeqSpec> mix = others(static_cast<uint64_t>(t));
      mix.push_back({seed, t, 1, SegmentKind::kDecode, false});
      const AttnStep st = testing::make_attn_step(mix, dims, static_cast<uint32_t>(t));
      const std::vector<float> out = run(st, window, {2, true}, isa);
      const std::vector<float> got(out.end() - static_cast<std::ptrdiff_t>(row_floats), out.end());
      const std::vector<float> expect(
          want.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(t) * row_floats),
          want.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(t + 1) * row_floats));
      EXPECT_TRUE(same_bits(got, expect)) << "decode of token " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Windows, Invariance, ::testing::Values(0, 300));

}  // namespace
}  // namespace xy::cpu
