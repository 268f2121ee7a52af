// Paged attention over random block tables against a dense double-precision recomputation:
// mixed prefill / decode / chain-verify / tree-verify segments in one step, GQA groups 1/2/4,
// block sizes 1/5/16, kv lengths {0,1,15,16,17,97}, f32 and bf16 pools, sliding windows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include "core/dtype.h"
#include "kernels/reference/paged_attention.h"
#include "kernels/reference/paged_kv.h"

namespace xy::ref {
namespace {

struct SequenceSpec {
  int kv_len;
  int num_tokens;
  SegmentKind kind;
  bool tree;
};

// Everything one test step needs, with the dense truth kept beside the paged copy.
struct Step {
  int n_kv_heads, group, head_dim, block_size;
  DType dtype;
  TokenTable table;
  std::vector<std::vector<float>> dense_k, dense_v;  // per sequence [n_keys, n_kv_heads, head_dim]
  std::vector<std::vector<int32_t>> key_positions;   // per sequence [n_keys]
  std::vector<float> q;                              // [n_tokens, n_heads, head_dim]
  std::vector<uint8_t> k_pool, v_pool;
  PagedKvLayer layer;
  int n_heads() const { return n_kv_heads * group; }
};

float round_to(DType dtype, float x) {
  float y;
  uint8_t tmp[4];
  convert_from_f32(dtype, &x, tmp, 1);
  convert_to_f32(dtype, tmp, &y, 1);
  return y;
}

Step make_step(const std::vector<SequenceSpec>& specs, int n_kv_heads, int group, int head_dim,
               int block_size, DType dtype, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Step st{n_kv_heads, group, head_dim, block_size, dtype, {}, {}, {}, {}, {}, {}, {}, {}};
  const size_t kv_row = static_cast<size_t>(n_kv_heads) * head_dim;

  // Hand out shuffled physical blocks so sequences interleave in the pool.
  int total_blocks = 3;  // a few never-used blocks
  for (const auto& s : specs)
    total_blocks += (s.kv_len + s.num_tokens + block_size - 1) / block_size;
  std::vector<int32_t> free_blocks(static_cast<size_t>(total_blocks));
  std::iota(free_blocks.begin(), free_blocks.end(), 0);
  std::shuffle(free_blocks.begin(), free_blocks.end(), rng);

  const size_t pool_elems = static_cast<size_t>(total_blocks) * block_size * kv_row;
  st.k_pool.assign(pool_elems * dtype_size(dtype), 0);
  st.v_pool.assign(pool_elems * dtype_size(dtype), 0);
  st.layer = PagedKvLayer{st.k_pool.data(), st.v_pool.data(), dtype,   total_blocks,
                          block_size,       n_kv_heads,       head_dim};
  // Fill the pools with garbage first: the kernel must only read slots it owns.
  {
    std::vector<float> junk(pool_elems);
    for (float& x : junk) x = 1e3f * dist(rng);
    convert_from_f32(dtype, junk.data(), st.k_pool.data(), pool_elems);
    convert_from_f32(dtype, junk.data(), st.v_pool.data(), pool_elems);
  }

  std::vector<float> step_k, step_v;  // [n_tokens, n_kv_heads, head_dim]
  size_t next_block = 0;
  for (size_t s = 0; s < specs.size(); ++s) {
    const SequenceSpec& spec = specs[s];
    const int n_keys = spec.kv_len + spec.num_tokens;
    Segment seg;
    seg.seq_id = static_cast<int>(s);
    seg.kind = spec.kind;
    seg.start = st.table.num_tokens();
    seg.num_tokens = spec.num_tokens;
    seg.kv_len = spec.kv_len;
    seg.block_table_offset = static_cast<int>(st.table.block_tables.size());
    seg.num_blocks = (n_keys + block_size - 1) / block_size;
    std::vector<int32_t> blocks(
        free_blocks.begin() + static_cast<long>(next_block),
        free_blocks.begin() + static_cast<long>(next_block) + seg.num_blocks);
    next_block += static_cast<size_t>(seg.num_blocks);
    st.table.block_tables.insert(st.table.block_tables.end(), blocks.begin(), blocks.end());
    auto slot_of = [&](int logical) {
      return static_cast<int64_t>(blocks[static_cast<size_t>(logical / block_size)]) * block_size +
             logical % block_size;
    };

    std::vector<float> k(static_cast<size_t>(n_keys) * kv_row), v(k.size());
    for (float& x : k) x = round_to(dtype, dist(rng));
    for (float& x : v) x = round_to(dtype, dist(rng));
    std::vector<int32_t> pos(static_cast<size_t>(n_keys));
    std::iota(pos.begin(), pos.begin() + spec.kv_len, 0);

    if (spec.tree) {
      // Random tree over the segment's tokens in topological order; token 0 is the root.
      std::vector<int> parent(static_cast<size_t>(spec.num_tokens), -1), depth(parent.size(), 0);
      seg.spec_mask_offset = static_cast<int>(st.table.spec_masks.size());
      std::vector<uint8_t> mask(static_cast<size_t>(spec.num_tokens) * spec.num_tokens, 0);
      for (int i = 0; i < spec.num_tokens; ++i) {
        if (i > 0) {
          parent[static_cast<size_t>(i)] = std::uniform_int_distribution<int>(0, i - 1)(rng);
          depth[static_cast<size_t>(i)] =
              depth[static_cast<size_t>(parent[static_cast<size_t>(i)])] + 1;
        }
        for (int a = i; a >= 0; a = parent[static_cast<size_t>(a)]) {
          mask[static_cast<size_t>(i) * spec.num_tokens + a] = 1;
        }
        pos[static_cast<size_t>(spec.kv_len + i)] = spec.kv_len + depth[static_cast<size_t>(i)];
      }
      st.table.spec_masks.insert(st.table.spec_masks.end(), mask.begin(), mask.end());
    } else {
      std::iota(pos.begin() + spec.kv_len, pos.end(), spec.kv_len);
    }

    // Cached tokens go straight into the pool; the step's tokens go through slot_mapping.
    for (int j = 0; j < spec.kv_len; ++j) {
      const int64_t slot = slot_of(j);
      write_kv(k.data() + static_cast<size_t>(j) * kv_row,
               v.data() + static_cast<size_t>(j) * kv_row, &slot, 1, st.layer);
    }
    for (int j = spec.kv_len; j < n_keys; ++j) {
      st.table.token_ids.push_back(0);
      st.table.positions.push_back(pos[static_cast<size_t>(j)]);
      st.table.slot_mapping.push_back(slot_of(j));
      st.table.logit_rows.push_back(st.table.num_tokens() - 1);
      step_k.insert(step_k.end(), k.begin() + static_cast<long>(j * kv_row),
                    k.begin() + static_cast<long>((j + 1) * kv_row));
      step_v.insert(step_v.end(), v.begin() + static_cast<long>(j * kv_row),
                    v.begin() + static_cast<long>((j + 1) * kv_row));
    }
    st.table.segments.push_back(seg);
    st.dense_k.push_back(std::move(k));
    st.dense_v.push_back(std::move(v));
    st.key_positions.push_back(std::move(pos));
  }
  write_kv(step_k.data(), step_v.data(), st.table.slot_mapping.data(), st.table.num_tokens(),
           st.layer);
  st.q.resize(static_cast<size_t>(st.table.num_tokens()) * st.n_heads() * head_dim);
  for (float& x : st.q) x = dist(rng);
  return st;
}

// Dense double-precision attention straight from the per-sequence K/V (no pages).
std::vector<double> dense_reference(const Step& st, float scale, int window) {
  const int hd = st.head_dim, nh = st.n_heads();
  std::vector<double> out(st.q.size(), 0.0);
  for (size_t s = 0; s < st.table.segments.size(); ++s) {
    const Segment& seg = st.table.segments[s];
    const int n_keys = seg.kv_len + seg.num_tokens;
    for (int i = 0; i < seg.num_tokens; ++i) {
      const int row = seg.start + i;
      const int32_t qpos = st.key_positions[s][static_cast<size_t>(seg.kv_len + i)];
      for (int h = 0; h < nh; ++h) {
        const int kvh = h / st.group;
        std::vector<double> score;
        std::vector<int> keys;
        for (int j = 0; j < n_keys; ++j) {
          bool ok = j < seg.kv_len;
          if (!ok) {
            const int jj = j - seg.kv_len;
            ok = seg.spec_mask_offset < 0
                     ? jj <= i
                     : st.table.spec_masks[static_cast<size_t>(seg.spec_mask_offset) +
                                           static_cast<size_t>(i) * seg.num_tokens + jj] != 0;
          }
          if (window > 0 && qpos - st.key_positions[s][static_cast<size_t>(j)] >= window)
            ok = false;
          if (!ok) continue;
          double d = 0;
          for (int x = 0; x < hd; ++x) {
            d += static_cast<double>(st.q[(static_cast<size_t>(row) * nh + h) * hd + x]) *
                 st.dense_k[s][(static_cast<size_t>(j) * st.n_kv_heads + kvh) * hd + x];
          }
          score.push_back(d * scale);
          keys.push_back(j);
        }
        const double mx = *std::max_element(score.begin(), score.end());
        double sum = 0;
        for (double& x : score) sum += (x = std::exp(x - mx));
        for (size_t k = 0; k < keys.size(); ++k) {
          for (int x = 0; x < hd; ++x) {
            out[(static_cast<size_t>(row) * nh + h) * hd + x] +=
                score[k] / sum *
                st.dense_v[s][(static_cast<size_t>(keys[k]) * st.n_kv_heads + kvh) * hd + x];
          }
        }
      }
    }
  }
  return out;
}

std::vector<float> run(const Step& st, float scale, int window) {
  std::vector<float> out(st.q.size(), -7.0f);
  paged_attention(st.q.data(), st.layer, st.table, AttentionParams{st.n_heads(), scale, window},
                  out.data());
  return out;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& expect, double tol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), expect.size());
  double worst = 0;
  size_t worst_at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs(got[i] - expect[i]);
    if (e > worst) worst = e, worst_at = i;
  }
  EXPECT_LT(worst, tol) << what << " worst abs error at element " << worst_at;
}

std::vector<SequenceSpec> mixed_specs() {
  std::vector<SequenceSpec> specs = {{0, 13, SegmentKind::kPrefill, false}};
  for (int kv_len : {1, 15, 16, 17, 97}) {
    specs.push_back({kv_len, 7, SegmentKind::kPrefill, false});
    specs.push_back({kv_len, 1, SegmentKind::kDecode, false});
    specs.push_back({kv_len, 4, SegmentKind::kVerify, false});
    specs.push_back({kv_len, 6, SegmentKind::kVerify, true});
  }
  return specs;
}

struct Config {
  int group, block_size;
  DType dtype;
};

class PagedAttentionTest : public ::testing::TestWithParam<Config> {};

TEST_P(PagedAttentionTest, MixedStepMatchesDenseDoubleReference) {
  const Config c = GetParam();
  const int head_dim = 24;
  const Step st = make_step(mixed_specs(), /*n_kv_heads=*/2, c.group, head_dim, c.block_size,
                            c.dtype, 1000 + c.group * 10 + c.block_size);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  expect_close(run(st, scale, 0), dense_reference(st, scale, 0), 2e-5, "no window");
  expect_close(run(st, scale, 5), dense_reference(st, scale, 5), 2e-5, "window 5");
}

INSTANTIATE_TEST_SUITE_P(
    Grid, PagedAttentionTest,
    ::testing::Values(Config{1, 16, DType::kF32}, Config{2, 16, DType::kF32},
                      Config{4, 16, DType::kF32}, Config{1, 1, DType::kF32},
                      Config{4, 1, DType::kF32}, Config{2, 5, DType::kF32},
                      Config{2, 16, DType::kBF16}, Config{4, 1, DType::kBF16},
                      Config{1, 5, DType::kF16}),
    [](const auto& info) {
      std::ostringstream name;  // not operator+: GCC 12 -O3 raises a false -Wrestrict there
      name << "g" << info.param.group << "_bs" << info.param.block_size << "_"
           << dtype_name(info.param.dtype);
      return name.str();
    });

TEST(PagedAttention, SegmentResultIndependentOfItsNeighbours) {
  // Batch invariance: one sequence's rows are bitwise equal alone and inside a mixed step.
  const std::vector<SequenceSpec> specs = mixed_specs();
  const Step mixed = make_step(specs, 2, 2, 24, 16, DType::kF32, 77);
  const std::vector<float> mixed_out = run(mixed, 0.2f, 0);
  const size_t target = 6;  // the kv_len 15 decode... any segment will do
  const Segment& seg = mixed.table.segments[target];

  // Rebuild a table with only that segment, pointing at the same pool and slots.
  TokenTable alone;
  Segment s = seg;
  s.start = 0;
  s.block_table_offset = 0;
  const size_t row_floats = static_cast<size_t>(mixed.n_heads()) * 24;
  alone.block_tables.assign(
      mixed.table.block_tables.begin() + seg.block_table_offset,
      mixed.table.block_tables.begin() + seg.block_table_offset + seg.num_blocks);
  if (seg.spec_mask_offset >= 0) {
    alone.spec_masks.assign(
        mixed.table.spec_masks.begin() + seg.spec_mask_offset,
        mixed.table.spec_masks.begin() + seg.spec_mask_offset + seg.num_tokens * seg.num_tokens);
    s.spec_mask_offset = 0;
  }
  for (int i = 0; i < seg.num_tokens; ++i) {
    alone.token_ids.push_back(0);
    alone.positions.push_back(mixed.table.positions[static_cast<size_t>(seg.start + i)]);
    alone.slot_mapping.push_back(mixed.table.slot_mapping[static_cast<size_t>(seg.start + i)]);
  }
  alone.segments.push_back(s);
  std::vector<float> q(
      mixed.q.begin() + static_cast<long>(seg.start * row_floats),
      mixed.q.begin() + static_cast<long>((seg.start + seg.num_tokens) * row_floats));
  std::vector<float> out(q.size());
  paged_attention(q.data(), mixed.layer, alone, AttentionParams{mixed.n_heads(), 0.2f, 0},
                  out.data());
  EXPECT_EQ(0, std::memcmp(out.data(), mixed_out.data() + seg.start * row_floats,
                           out.size() * sizeof(float)));
}

TEST(PagedAttention, LargeScoresStayFinite) {
  // Scores of several hundred would overflow exp() without the max subtraction.
  Step st = make_step({{17, 5, SegmentKind::kPrefill, false}}, 1, 2, 16, 4, DType::kF32, 5);
  for (float& x : st.q) x *= 300.0f;
  const auto out = run(st, 1.0f, 0);
  for (float x : out) ASSERT_TRUE(std::isfinite(x));
  expect_close(out, dense_reference(st, 1.0f, 0), 1e-4, "large scores");
}

}  // namespace
}  // namespace xy::ref
