// Bitwise batch invariance of meta-attention: a sequence's output rows are identical (memcmp)
// whether it runs alone or inside a mixed step with others, with 1, 2 or 7 workers, split or
// not, wherever its blocks lie in the pool, and however its prompt was chunked into steps
// (including one token at a time as decodes). Checked on every ISA path separately.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
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
using testing::supported_attention_isas;

struct RunConfig {
  int workers = 1;
  bool allow_split = true;
};

// Problem sizes: the LongRunning variant uses the production KV chunk (256) and kv lengths in
// the thousands; the small one (run everywhere, also under the sanitizers) scales lengths down
// by 8 with a 32-token KV chunk, so the same chunk-edge and split cases occur.
struct Scale {
  bool long_running = false;
  int window = 0;
  int kv_chunk() const { return long_running ? 256 : 32; }
  int len(int x) const { return long_running ? x : std::max(1, x / 8); }
};

std::string scale_name(const ::testing::TestParamInfo<Scale>& info) {
  return std::string(info.param.long_running ? "LongRunning" : "Small") + "_Window" +
         std::to_string(info.param.window);
}

std::vector<float> run(const AttnStep& st, const Scale& scale, const RunConfig& cfg,
                       AttentionIsa isa) {
  const AttentionShape shape{st.dims.n_heads(), st.dims.n_kv_heads, st.dims.head_dim,
                             st.dims.block_size, scale.window};
  AttentionPlanOptions options;
  options.allow_split = cfg.allow_split;
  options.kv_chunk = scale.kv_chunk();
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
std::vector<SeqSpec> others(uint64_t base, const Scale& sc) {
  return {{base + 1, sc.len(700), 1, SegmentKind::kDecode, false},
          {base + 2, 40, 30, SegmentKind::kPrefill, false},
          {base + 3, sc.len(1300), 1, SegmentKind::kDecode, false},
          {base + 4, sc.len(120), 6, SegmentKind::kVerify, true},
          {base + 5, 0, sc.len(50), SegmentKind::kPrefill, false},
          {base + 6, sc.len(260), 4, SegmentKind::kVerify, false}};
}

// Each check runs on f32 and on bf16 pools: the f32 paths, and the vdpbf16ps path where the CPU
// has it, must each be invariant.
class Invariance : public ::testing::TestWithParam<Scale> {
 protected:
  void check_alone_vs_mixed(DType dtype);
  void check_chunking_and_decodes(DType dtype);
};

TEST_P(Invariance, AloneVsMixedStepsWorkersAndSplits) {
  for (DType dtype : {DType::kF32, DType::kBF16}) check_alone_vs_mixed(dtype);
}

TEST_P(Invariance, PromptChunkingAndDecodes) {
  for (DType dtype : {DType::kF32, DType::kBF16}) check_chunking_and_decodes(dtype);
}

void Invariance::check_alone_vs_mixed(DType dtype) {
  SCOPED_TRACE(dtype_name(dtype));
  const Scale sc = GetParam();
  AttnDims dims;
  dims.n_kv_heads = 2;
  dims.group = 4;
  dims.head_dim = 64;
  dims.block_size = 16;
  dims.dtype = dtype;
  // Sequences under test: a long decode (split-KV when alone), a prefill chunk with prefix, a
  // chain verify and a tree verify.
  const std::vector<SeqSpec> subjects = {{901, sc.len(1500), 1, SegmentKind::kDecode, false},
                                         {902, sc.len(300), 37, SegmentKind::kPrefill, false},
                                         {903, sc.len(511), 5, SegmentKind::kVerify, false},
                                         {904, sc.len(257), 7, SegmentKind::kVerify, true}};
  const std::vector<RunConfig> configs = {{1, true}, {2, true}, {7, true}, {2, false}};
  for (AttentionIsa isa : supported_attention_isas()) {
    for (const SeqSpec& subject : subjects) {
      const AttnStep alone = testing::make_attn_step({subject}, dims, 1);
      const std::vector<float> want = run(alone, sc, {1, false}, isa);
      // Mixed in the middle of other traffic, blocks placed differently.
      std::vector<SeqSpec> mix = others(subject.seed * 10, sc);
      mix.insert(mix.begin() + 3, subject);
      const AttnStep mixed = testing::make_attn_step(mix, dims, 77);
      int row = 0;
      for (int s = 0; s < 3; ++s) row += mix[static_cast<size_t>(s)].num_tokens;
      for (const RunConfig& cfg : configs) {
        EXPECT_TRUE(same_bits(run(alone, sc, cfg, isa), want))
            << "alone, workers " << cfg.workers << " split " << cfg.allow_split;
        const std::vector<float> got =
            testing::rows_of(run(mixed, sc, cfg, isa), dims, row, subject.num_tokens);
        EXPECT_TRUE(same_bits(got, want))
            << "mixed, seq " << subject.seed << " workers " << cfg.workers << " split "
            << cfg.allow_split << " isa " << attention_isa_name(isa);
      }
    }
  }
}

void Invariance::check_chunking_and_decodes(DType dtype) {
  SCOPED_TRACE(dtype_name(dtype));
  const Scale sc = GetParam();
  AttnDims dims;
  dims.n_kv_heads = 1;
  dims.group = 2;
  dims.head_dim = 128;
  dims.block_size = 16;
  dims.dtype = dtype;
  const uint64_t seed = 4242;
  // Chunkings of the same prompt (700 tokens; 88 small): whole, two halves, pieces that cut at
  // and around KV chunk edges. Each piece runs as a prefill segment with kv_len = tokens
  // before it, among other traffic.
  const std::vector<std::vector<int>> chunkings =
      sc.long_running
          ? std::vector<std::vector<int>>{{700},
                                          {350, 350},
                                          {1, 255, 256, 1, 187},
                                          {300, 100, 17, 283}}
          : std::vector<std::vector<int>>{{88}, {44, 44}, {1, 31, 32, 1, 23}, {37, 12, 2, 37}};
  const std::vector<int> decode_tokens = sc.long_running
                                             ? std::vector<int>{0, 1, 255, 256, 257, 511, 699}
                                             : std::vector<int>{0, 1, 31, 32, 33, 63, 87};
  for (AttentionIsa isa : supported_attention_isas()) {
    std::vector<float> want;  // [prompt, n_heads, head_dim] from the single-chunk run
    for (const std::vector<int>& pieces : chunkings) {
      std::vector<float> got;
      int done = 0;
      int step = 0;
      for (int len : pieces) {
        std::vector<SeqSpec> mix = others(static_cast<uint64_t>(step) * 100, sc);
        mix.resize(static_cast<size_t>(step % 4));  // 0..3 neighbours before it
        int row = 0;
        for (const SeqSpec& s : mix) row += s.num_tokens;
        mix.push_back({seed, done, len, SegmentKind::kPrefill, false});
        const AttnStep st = testing::make_attn_step(mix, dims, static_cast<uint32_t>(step + 3));
        const RunConfig cfg{1 + step % 3, true};
        const std::vector<float> rows = testing::rows_of(run(st, sc, cfg, isa), dims, row, len);
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
    // Prompt tokens as decodes (kv_len = their index), one per step, in a batch.
    const size_t row_floats = static_cast<size_t>(dims.n_heads()) * dims.head_dim;
    for (int t : decode_tokens) {
      std::vector<SeqSpec> mix = others(static_cast<uint64_t>(t), sc);
      mix.push_back({seed, t, 1, SegmentKind::kDecode, false});
      const AttnStep st = testing::make_attn_step(mix, dims, static_cast<uint32_t>(t));
      const std::vector<float> out = run(st, sc, {2, true}, isa);
      const std::vector<float> got(out.end() - static_cast<std::ptrdiff_t>(row_floats), out.end());
      const std::vector<float> expect(
          want.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(t) * row_floats),
          want.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(t + 1) * row_floats));
      EXPECT_TRUE(same_bits(got, expect)) << "decode of token " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, Invariance,
                         ::testing::Values(Scale{false, 0}, Scale{false, 37}, Scale{true, 0},
                                           Scale{true, 300}),
                         scale_name);

}  // namespace
}  // namespace xy::cpu
