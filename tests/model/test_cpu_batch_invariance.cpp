// Bitwise batch invariance of the CPU kernel path: the logits of a sequence run alone, as one
// prefill step on one worker, are memcmp-identical to its logits when its prompt is cut into
// chunks of {1, 7, 64, whole} tokens and every step also carries other sequences' prefill chunks,
// decodes, chain verify and tree verify segments (in shuffled segment order), on 1 and 2 workers.
// The LongRunning case is longer than one meta-attention KV chunk (256 keys), so chunk merging
// and split-KV are exercised.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/token_table_builder.h"

namespace xy {
namespace {

const std::string kFixtures = std::string(XY_TESTDATA_DIR) + "/reference-logits/";

struct Case {
  std::string model;
  bool bf16;  // bf16 weights and KV cache, else f32
  int length;
};

std::unique_ptr<Model> load(const Case& c, int threads) {
  LoadOptions o;
  o.kernels = KernelSet::kCpu;
  o.weight_dtype = c.bf16 ? DType::kBF16 : DType::kF32;
  o.threads = threads;
  auto m = Model::load(kFixtures + c.model, o);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  return m.is_ok() ? std::move(m.value()) : nullptr;
}

// A sequence sharing the steps: its tokens, blocks and how far it got.
struct Other {
  std::vector<int32_t> tokens;
  std::vector<int32_t> blocks;
  int kv_len = 0;
};

constexpr int kBlockSize = 16;

class CpuBatchInvariance : public ::testing::TestWithParam<Case> {};

// The target alone: one prefill step over the whole prompt, logits of every row.
std::vector<float> run_alone(Model& model, const std::vector<int32_t>& seq, DType kv) {
  const int blocks = (static_cast<int>(seq.size()) + kBlockSize - 1) / kBlockSize;
  auto cache = model.make_kv_cache(blocks, kBlockSize, kv);
  EXPECT_TRUE(cache.is_ok());
  std::vector<int32_t> ids(static_cast<size_t>(blocks));
  std::iota(ids.begin(), ids.end(), 0);
  const TokenTable t = make_single_sequence_table(seq, 0, ids, kBlockSize, true);
  std::vector<float> logits(seq.size() * model.config().vocab_size);
  EXPECT_TRUE(model.forward(t, *cache, logits.data()).is_ok());
  return logits;
}

// The target in chunks of `chunk`, every step mixed with three other sequences.
std::vector<float> run_mixed(Model& model, const std::vector<int32_t>& seq, DType kv, int chunk,
                             uint32_t seed) {
  const int vocab = model.config().vocab_size;
  std::mt19937 rng(seed);
  const int len = static_cast<int>(seq.size());
  const int steps = (len + chunk - 1) / chunk;
  // Others: A prefills in random chunks, B decodes one token a step, C verifies 4-token drafts
  // (chain or tree), accepting a random prefix. Each needs at most ~6 tokens per step.
  const int other_len = 64 + 6 * steps;
  std::vector<Other> others(3);
  const int target_blocks = (len + kBlockSize - 1) / kBlockSize;
  const int other_blocks = (other_len + kBlockSize - 1) / kBlockSize;
  const int total_blocks = target_blocks + 3 * other_blocks + 3;
  std::vector<int32_t> pool(static_cast<size_t>(total_blocks));
  std::iota(pool.begin(), pool.end(), 0);
  std::shuffle(pool.begin(), pool.end(), rng);
  auto take = [&, next = size_t{0}](int n) mutable {
    std::vector<int32_t> b(pool.begin() + static_cast<long>(next),
                           pool.begin() + static_cast<long>(next + n));
    next += static_cast<size_t>(n);
    return b;
  };
  const std::vector<int32_t> target_ids = take(target_blocks);
  for (Other& o : others) {
    o.tokens.resize(static_cast<size_t>(other_len));
    for (auto& t : o.tokens) t = static_cast<int32_t>(rng() % vocab);
    o.blocks = take(other_blocks);
  }
  auto cache = model.make_kv_cache(total_blocks, kBlockSize, kv);
  EXPECT_TRUE(cache.is_ok());
  // B and C start with some context so their decodes / verifies attend to a cache.
  for (int i : {1, 2}) {
    Other& o = others[static_cast<size_t>(i)];
    const int n = 20 + 13 * i;
    const TokenTable t =
        make_single_sequence_table(std::span(o.tokens).first(n), 0, o.blocks, kBlockSize, false);
    std::vector<float> last(static_cast<size_t>(vocab));
    EXPECT_TRUE(model.forward(t, *cache, last.data()).is_ok());
    o.kv_len = n;
  }

  std::vector<float> out(static_cast<size_t>(len) * vocab);
  const std::vector<uint8_t> tree = {1, 0, 0, 0,  //
                                     1, 1, 0, 0,  //
                                     1, 0, 1, 0,  //
                                     1, 1, 0, 1};
  const std::vector<int32_t> depth = {0, 1, 1, 2};
  for (int done = 0; done < len; done += chunk) {
    const int n = std::min(chunk, len - done);
    std::vector<int> order = {0, 1, 2, 3};  // 3 = the target
    std::shuffle(order.begin(), order.end(), rng);
    TokenTableBuilder b(kBlockSize);
    size_t target_logits = 0;
    int c_accept = 0;
    for (int who : order) {
      if (who == 3) {
        target_logits = b.table().logit_rows.size();
        const SegmentKind kind = done > 0 && n == 1 ? SegmentKind::kDecode : SegmentKind::kPrefill;
        b.add_segment(99, kind,
                      std::span(seq).subspan(static_cast<size_t>(done), static_cast<size_t>(n)),
                      done, target_ids, LogitRows::kAll);
        continue;
      }
      Other& o = others[static_cast<size_t>(who)];
      auto next = [&](int k) {
        return std::span(o.tokens).subspan(static_cast<size_t>(o.kv_len), static_cast<size_t>(k));
      };
      if (who == 0) {
        const int k = 1 + static_cast<int>(rng() % 5);
        b.add_segment(who, SegmentKind::kPrefill, next(k), o.kv_len, o.blocks, LogitRows::kLast);
        o.kv_len += k;
      } else if (who == 1) {
        b.add_segment(who, SegmentKind::kDecode, next(1), o.kv_len, o.blocks, LogitRows::kLast);
        o.kv_len += 1;
      } else if (rng() % 2 == 0) {
        b.add_segment(who, SegmentKind::kVerify, next(4), o.kv_len, o.blocks, LogitRows::kAll);
        c_accept = 1 + static_cast<int>(rng() % 4);  // rejected slots are overwritten later
      } else {
        b.add_tree_segment(who, next(4), o.kv_len, o.blocks, tree, depth, LogitRows::kAll);
        c_accept = 1;  // keep the root only: its slot and position agree
      }
    }
    const TokenTable t = b.take();
    std::vector<float> logits(t.logit_rows.size() * vocab);
    const Status st = model.forward(t, *cache, logits.data());
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    if (!st.is_ok()) break;
    others[2].kv_len += c_accept;
    std::memcpy(out.data() + static_cast<size_t>(done) * vocab,
                logits.data() + target_logits * vocab, sizeof(float) * n * vocab);
  }
  return out;
}

void check_invariance(const Case& c) {
  const DType kv = c.bf16 ? DType::kBF16 : DType::kF32;
  auto one = load(c, 1);
  auto two = load(c, 2);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->num_threads(), 1);
  EXPECT_EQ(two->num_threads(), 2);
  std::mt19937 rng(3);
  std::vector<int32_t> seq(static_cast<size_t>(c.length));
  for (auto& t : seq) t = static_cast<int32_t>(rng() % one->config().vocab_size);

  const std::vector<float> alone = run_alone(*one, seq, kv);
  const size_t bytes = alone.size() * sizeof(float);
  EXPECT_EQ(0, std::memcmp(run_alone(*two, seq, kv).data(), alone.data(), bytes))
      << "alone, 2 workers";
  for (int chunk : {1, 7, 64, c.length}) {
    for (Model* m : {one.get(), two.get()}) {
      const std::vector<float> mixed = run_mixed(*m, seq, kv, chunk, 17 + chunk);
      EXPECT_EQ(0, std::memcmp(mixed.data(), alone.data(), bytes))
          << c.model << " chunk " << chunk << ", " << m->num_threads() << " workers";
    }
  }
}

TEST_P(CpuBatchInvariance, AloneEqualsMixedStepsForEveryChunkingAndWorkerCount) {
  check_invariance(GetParam());
}

// Longer than one meta-attention KV chunk (256 keys): chunk merging and split-KV partials.
TEST(CpuBatchInvarianceLong, SequenceAcrossKvChunksLongRunning) {
  check_invariance(Case{"llama_gqa", false, 300});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CpuBatchInvariance,
                         ::testing::Values(Case{"llama_gqa", false, 70},
                                           Case{"qwen3_qknorm", true, 70},
                                           Case{"qwen2_bias", false, 66}),
                         [](const auto& info) {
                           return info.param.model + (info.param.bf16 ? "_bf16" : "_f32");
                         });

}  // namespace
}  // namespace xy
