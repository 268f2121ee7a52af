// Tree verify rows of the meta-attention are bitwise those of a chain: every node's output
// (memcmp) equals the output of the same tokens, its root path, run as a chain verify segment
// and as a decode of the node alone after its ancestors were cached. This is what keeps greedy
// output identical with or without tree speculation. Random trees (up to 64 nodes), kv lengths
// on both sides of KV chunk edges, GQA 1/2/3/4, head dims 20/64/128, f32/bf16/f16 pools,
// sliding windows, nodes in and out of topological order, 1/2 workers, split and unsplit plans,
// each ISA against itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <sstream>
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
  int kv_chunk = 32;
  int window = 0;
  bool allow_split = true;
  AttentionIsa isa = AttentionIsa::kScalar;
};

std::vector<float> run(const AttnStep& st, const RunConfig& cfg) {
  const AttentionShape shape{st.dims.n_heads(), st.dims.n_kv_heads, st.dims.head_dim,
                             st.dims.block_size, cfg.window};
  AttentionPlanOptions options;
  options.kv_chunk = cfg.kv_chunk;
  options.allow_split = cfg.allow_split;
  const AttentionPlan plan = plan_attention(st.table, shape, cfg.workers, options);
  // One pool per worker count for the whole test (thread start-up would dominate otherwise).
  static WorkerPool pool1(WorkerPoolOptions{1, false, false, 50});
  static WorkerPool pool2(WorkerPoolOptions{2, false, false, 50});
  WorkerPool& pool = cfg.workers == 1 ? pool1 : pool2;
  AttentionWorkspace ws;
  std::vector<float> out(st.q.size(), -7.0f);
  run_attention_with(plan, st.table, st.q.data(), st.layer, out.data(), pool, ws, cfg.isa);
  return out;
}

// Segment tokens row i of tree segment `seg` sees, root first (ordered by position).
std::vector<int> root_path(const TokenTable& table, const Segment& seg, int i) {
  std::vector<int> path;
  for (int j = 0; j < seg.num_tokens; ++j) {
    if (table.spec_masks[static_cast<size_t>(seg.spec_mask_offset + i * seg.num_tokens + j)]) {
      path.push_back(j);
    }
  }
  std::stable_sort(path.begin(), path.end(), [&](int a, int b) {
    return table.positions[static_cast<size_t>(seg.start + a)] <
           table.positions[static_cast<size_t>(seg.start + b)];
  });
  return path;
}

// A step holding one sequence: the tree segment's cached keys, then its segment tokens `path`
// as logical keys kv_len, kv_len + 1, ... (K/V bytes copied from the tree's pool). The last
// `num_tokens` of those keys form the step's segment (a chain verify, or a decode when 1), with
// the q rows of the matching tree nodes. Blocks are laid out in reverse pool order.
AttnStep chain_step(const AttnStep& tree, int seg_index, const std::vector<int>& path,
                    int num_tokens) {
  const Segment& ts = tree.table.segments[static_cast<size_t>(seg_index)];
  const AttnDims& dims = tree.dims;
  const int bs = dims.block_size, hd = dims.head_dim, nkv = dims.n_kv_heads;
  const int n_keys = ts.kv_len + static_cast<int>(path.size());
  const int num_blocks = (n_keys + bs - 1) / bs;
  AttnStep st;
  st.dims = dims;
  const size_t esize = dtype_size(dims.dtype);
  const size_t pool_elems = static_cast<size_t>(num_blocks) * bs * nkv * hd;
  st.k_pool.assign(pool_elems * esize, 0);
  st.v_pool.assign(pool_elems * esize, 0);
  st.layer =
      ref::PagedKvLayer{st.k_pool.data(), st.v_pool.data(), dims.dtype, num_blocks, bs, nkv, hd};
  Segment seg;
  seg.kind = num_tokens == 1 ? SegmentKind::kDecode : SegmentKind::kVerify;
  seg.start = 0;
  seg.num_tokens = num_tokens;
  seg.kv_len = n_keys - num_tokens;
  seg.block_table_offset = 0;
  seg.num_blocks = num_blocks;
  for (int b = 0; b < num_blocks; ++b) st.table.block_tables.push_back(num_blocks - 1 - b);
  const int32_t* tree_bt = tree.table.block_tables.data() + ts.block_table_offset;
  const size_t row_bytes = static_cast<size_t>(hd) * esize;
  for (int L = 0; L < n_keys; ++L) {
    // Logical index of the same key in the tree segment's sequence.
    const int tl = L < ts.kv_len ? L : ts.kv_len + path[static_cast<size_t>(L - ts.kv_len)];
    const int64_t from = static_cast<int64_t>(tree_bt[tl / bs]) * bs + tl % bs;
    const int64_t to =
        static_cast<int64_t>(st.table.block_tables[static_cast<size_t>(L / bs)]) * bs + L % bs;
    for (int h = 0; h < nkv; ++h) {
      std::memcpy(st.k_pool.data() + st.layer.row_offset(to, h) * esize,
                  tree.k_pool.data() + tree.layer.row_offset(from, h) * esize, row_bytes);
      std::memcpy(st.v_pool.data() + st.layer.row_offset(to, h) * esize,
                  tree.v_pool.data() + tree.layer.row_offset(from, h) * esize, row_bytes);
    }
  }
  const size_t qw = static_cast<size_t>(dims.n_heads()) * hd;
  for (int r = 0; r < num_tokens; ++r) {
    const int L = seg.kv_len + r;
    const int node = path[static_cast<size_t>(L - ts.kv_len)];
    st.table.token_ids.push_back(0);
    st.table.positions.push_back(L);
    st.table.slot_mapping.push_back(
        static_cast<int64_t>(st.table.block_tables[static_cast<size_t>(L / bs)]) * bs + L % bs);
    const float* qn = tree.q.data() + static_cast<size_t>(ts.start + node) * qw;
    st.q.insert(st.q.end(), qn, qn + qw);
  }
  st.table.segments.push_back(seg);
  return st;
}

std::string describe(const AttnDims& d, const RunConfig& c, int kv_len, int n) {
  std::ostringstream os;
  os << "n_kv_heads=" << d.n_kv_heads << " group=" << d.group << " head_dim=" << d.head_dim
     << " block_size=" << d.block_size << " dtype=" << dtype_name(d.dtype)
     << " kv_chunk=" << c.kv_chunk << " window=" << c.window << " workers=" << c.workers
     << " split=" << c.allow_split << " isa=" << attention_isa_name(c.isa) << " kv_len=" << kv_len
     << " tree_tokens=" << n;
  return os.str();
}

// Replaces the tree of segment `s` by a random one whose parents may come after their children
// (node order not topological): the kernel must order a path by position, not by index.
void reshape_tree(AttnStep& st, int s, std::mt19937& rng) {
  const Segment& seg = st.table.segments[static_cast<size_t>(s)];
  const int n = seg.num_tokens;
  std::vector<int> order(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<int> parent(static_cast<size_t>(n), -1);
  for (int k = 1; k < n; ++k) {
    if (rng() % 4 != 0) {
      parent[static_cast<size_t>(order[static_cast<size_t>(k)])] =
          order[static_cast<size_t>(rng() % static_cast<uint32_t>(k))];
    }
  }
  uint8_t* mask = st.table.spec_masks.data() + seg.spec_mask_offset;
  std::fill(mask, mask + static_cast<size_t>(n) * n, uint8_t{0});
  for (int i = 0; i < n; ++i) {
    int depth = -1;
    for (int a = i; a >= 0; a = parent[static_cast<size_t>(a)]) {
      mask[static_cast<size_t>(i) * n + a] = 1;
      ++depth;
    }
    st.table.positions[static_cast<size_t>(seg.start + i)] = seg.kv_len + depth;
  }
}

// Runs `trees` random tree cases; each tree sits in a mixed step beside a decode and a chain.
void check_random_trees(uint32_t seed, int trees, int max_tokens, int max_chunks,
                        const std::vector<int>& chunks, bool shuffled = false) {
  std::mt19937 rng(seed);
  const int groups[] = {1, 2, 3, 4};
  const int head_dims[] = {20, 64, 128};
  const int block_sizes[] = {1, 5, 16};
  const DType dtypes[] = {DType::kF32, DType::kBF16, DType::kF16};
  for (int t = 0; t < trees; ++t) {
    AttnDims dims;
    dims.n_kv_heads = 1 + static_cast<int>(rng() % 2);
    dims.group = groups[rng() % 4];
    dims.head_dim = head_dims[rng() % 3];
    dims.block_size = block_sizes[rng() % 3];
    dims.dtype = dtypes[rng() % 3];
    RunConfig cfg;
    cfg.kv_chunk = chunks[rng() % chunks.size()];
    cfg.window = rng() % 4 == 0 ? 1 + static_cast<int>(rng() % (2 * cfg.kv_chunk)) : 0;
    const int n = 1 + static_cast<int>(rng() % static_cast<uint32_t>(max_tokens));
    // kv_len near a chunk edge (either side) half the time, anywhere otherwise.
    int kv_len = static_cast<int>(rng() % static_cast<uint32_t>(max_chunks * cfg.kv_chunk));
    if (rng() % 2 == 0) {
      kv_len = std::max(0, (kv_len / cfg.kv_chunk) * cfg.kv_chunk - static_cast<int>(rng() % 4));
    }
    const std::vector<SeqSpec> specs = {{1000u + t, 37, 1, SegmentKind::kDecode, false},
                                        {2000u + t, kv_len, n, SegmentKind::kVerify, true},
                                        {3000u + t, 11, 5, SegmentKind::kVerify, false}};
    AttnStep tree = testing::make_attn_step(specs, dims, seed + t);
    if (shuffled) reshape_tree(tree, 1, rng);
    const Segment& ts = tree.table.segments[1];
    const size_t qw = static_cast<size_t>(dims.n_heads()) * dims.head_dim;
    for (AttentionIsa isa : supported_attention_isas()) {
      for (int workers : {1, 2}) {
        for (bool split : {true, false}) {
          if (workers == 1 && !split) continue;
          cfg.isa = isa;
          cfg.workers = workers;
          cfg.allow_split = split;
          const std::vector<float> got = run(tree, cfg);
          for (int i = 0; i < n; ++i) {
            const std::vector<int> path = root_path(tree.table, ts, i);
            const int depth = static_cast<int>(path.size());
            const float* node = got.data() + static_cast<size_t>(ts.start + i) * qw;
            // The whole root path as a chain: row e is node path[e].
            const std::vector<float> chain = run(chain_step(tree, 1, path, depth), cfg);
            ASSERT_EQ(0, std::memcmp(node, chain.data() + static_cast<size_t>(depth - 1) * qw,
                                     qw * sizeof(float)))
                << "node " << i << " vs chain, " << describe(dims, cfg, kv_len, n);
            // The node decoded alone after its ancestors.
            const std::vector<float> decode = run(chain_step(tree, 1, path, 1), cfg);
            ASSERT_EQ(0, std::memcmp(node, decode.data(), qw * sizeof(float)))
                << "node " << i << " vs decode, " << describe(dims, cfg, kv_len, n);
          }
        }
      }
    }
  }
}

TEST(MetaAttentionTree, NodesMatchTheirRootPathAsChain) {
  check_random_trees(1, 60, 24, 3, {8, 32, 7});
}

TEST(MetaAttentionTree, NodesOutOfTopologicalOrder) {
  check_random_trees(5, 30, 24, 3, {8, 32}, /*shuffled=*/true);
}

TEST(MetaAttentionTree, WideTreesWithOneKeyChunks) {
  // A 1-key chunk puts every key in its own chunk: only the per-chunk placement can match.
  check_random_trees(2, 8, 12, 20, {1, 3});
}

TEST(MetaAttentionTree, SixtyFourNodesProductionChunkLongRunning) {
  check_random_trees(3, 10, 64, 3, {256});
}

TEST(MetaAttentionTree, SixtyFourNodesSmall) {
  check_random_trees(4, 4, 64, 2, {16});
}

}  // namespace
}  // namespace xy::cpu
