// Meta-attention (plan + run on the worker pool) vs the reference kernel, on steps shaped like
// serving traffic, with the KV cache in bf16 (the serving dtype) unless the name says f32.
// Names: attention/<impl>/<model>/<case>; counters: Tokens (rows of the step, rate) and
// KvBytes (K and V bytes each KV head reads once per tile, rate, i.e. the minimum traffic).
//   impl: meta (ours, XY_BENCH_THREADS or all CPUs), meta_avx2 / meta_avx512bf16 (the same on
//         that ISA, where the CPU has it: f32 arithmetic on widened K/V vs vdpbf16ps on the bf16
//         pools in place, the bf16 compute mode's attention), meta_split_off (split-KV disabled),
//         per_kind (the same step as separate prefill / decode / verify calls of our kernel),
//         ref (ref::paged_attention, one thread), plan (plan_attention alone).
//   case: decode16x1024   16 decodes over 1024 cached tokens
//         decode8192      one decode over 8192 cached tokens (split-KV)
//         prefill512      one 512-token prompt chunk, no prefix
//         mixed           a 256-token chunk after 768 cached, 12 decodes (kv 200..4000),
//                         2 chain verifies (5 tokens) and 1 tree verify (8 tokens)
//         tree64          one tree verify of 64 draft tokens (binary tree, depth 6) over 2000
//                         cached tokens; chain64: the same as a 64-token chain
//         azure           a step drawn from the Azure conversation trace (see azure_seqs)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/aligned_buffer.h"
#include "core/dtype.h"
#include "core/worker_pool.h"
#include "kernels/cpu/attention_plan.h"
#include "kernels/cpu/meta_attention.h"
#include "kernels/reference/paged_attention.h"
#include "kernels/reference/widen.h"

namespace xy::bench {
namespace {

struct ModelHeads {
  const char* name;
  int n_heads, n_kv_heads, head_dim;
};
constexpr ModelHeads kModels[] = {{"smollm2-135m", 9, 3, 64}, {"llama-3.2-1b", 32, 8, 64}};

struct Seq {
  int kv_len, num_tokens;
  SegmentKind kind;
  bool tree;
};

// A step over its own pool (blocks of consecutive sequences are interleaved in the pool).
struct Step {
  TokenTable table;
  std::vector<float> q, out;
  // Several layers' pools (huge-page backed, as model/KvCache's), at least 64 MiB in all, run
  // in turn as a model's layers are: each layer's KV comes from DRAM, not from the L3 cache
  // a single small pool would sit in between iterations.
  std::vector<AlignedBuffer> k_pools, v_pools;
  std::vector<ref::PagedKvLayer> layers;
  size_t next_layer = 0;
  const ref::PagedKvLayer& layer() { return layers[next_layer++ % layers.size()]; }
  int64_t kv_bytes = 0;  // K+V bytes read by one pass over every (segment, KV head)
};

std::unique_ptr<Step> make_step(const std::vector<Seq>& seqs, const ModelHeads& m, DType dtype) {
  auto st = std::make_unique<Step>();
  const int bs = 16;
  int total_blocks = 0;
  for (const Seq& s : seqs) total_blocks += (s.kv_len + s.num_tokens + bs - 1) / bs;
  const size_t elems = static_cast<size_t>(total_blocks) * bs * m.n_kv_heads * m.head_dim;
  std::vector<float> tmp(elems);
  fill_random(tmp.data(), elems, 1);
  const size_t pool_bytes = elems * dtype_size(dtype);
  const size_t n_layers = std::min<size_t>(16, (size_t{64} << 20) / (2 * pool_bytes) + 1);
  std::vector<float> tmp_v(elems);
  fill_random(tmp_v.data(), elems, 2);
  for (size_t l = 0; l < n_layers; ++l) {
    st->k_pools.emplace_back(pool_bytes);
    st->v_pools.emplace_back(pool_bytes);
    ref::narrow_from_f32(dtype, tmp.data(), st->k_pools.back().data(), elems);
    ref::narrow_from_f32(dtype, tmp_v.data(), st->v_pools.back().data(), elems);
    st->layers.push_back({st->k_pools.back().data(), st->v_pools.back().data(), dtype, total_blocks,
                          bs, m.n_kv_heads, m.head_dim});
  }
  int next_block = 0;
  for (const Seq& s : seqs) {
    Segment seg;
    seg.kind = s.kind;
    seg.start = st->table.num_tokens();
    seg.num_tokens = s.num_tokens;
    seg.kv_len = s.kv_len;
    const int n_keys = s.kv_len + s.num_tokens;
    seg.num_blocks = (n_keys + bs - 1) / bs;
    seg.block_table_offset = static_cast<int>(st->table.block_tables.size());
    for (int b = 0; b < seg.num_blocks; ++b) st->table.block_tables.push_back(next_block++);
    if (s.tree) {  // a binary-ish tree: token i hangs under (i - 1) / 2
      seg.spec_mask_offset = static_cast<int>(st->table.spec_masks.size());
      st->table.spec_masks.resize(st->table.spec_masks.size() +
                                  static_cast<size_t>(s.num_tokens) * s.num_tokens);
      uint8_t* mask = st->table.spec_masks.data() + seg.spec_mask_offset;
      for (int i = 0; i < s.num_tokens; ++i) {
        for (int a = i;; a = (a - 1) / 2) {
          mask[static_cast<size_t>(i) * s.num_tokens + a] = 1;
          if (a == 0) break;
        }
      }
    }
    for (int i = 0; i < s.num_tokens; ++i) {
      const int logical = s.kv_len + i;
      const int32_t* bt = st->table.block_tables.data() + seg.block_table_offset;
      st->table.token_ids.push_back(0);
      st->table.positions.push_back(s.tree ? s.kv_len + static_cast<int>(std::log2(i + 1))
                                           : logical);
      st->table.slot_mapping.push_back(static_cast<int64_t>(bt[logical / bs]) * bs + logical % bs);
    }
    st->table.segments.push_back(seg);
    st->kv_bytes += static_cast<int64_t>(n_keys) * m.n_kv_heads * m.head_dim * 2 *
                    static_cast<int64_t>(dtype_size(dtype));
  }
  const size_t q_elems = static_cast<size_t>(st->table.num_tokens()) * m.n_heads * m.head_dim;
  st->q.resize(q_elems);
  fill_random(st->q.data(), q_elems, 3);
  st->out.resize(q_elems);
  return st;
}

// A step drawn from the Azure LLM conversation trace (../shared/data/azure-llm, CC-BY 4.0): the
// first 20 requests in time order, as a scheduler in steady state would hold them: 16 decoding
// (kv = context + half their output), 2 chain verifies of 4 drafts and 1 tree verify of 8 at the
// same point, and the 20th request's prompt as a prefill chunk (up to 512 tokens). Empty when
// the trace file is missing (the case is then not registered).
std::vector<Seq> azure_seqs() {
  std::ifstream in(XY_SHARED_DATA_DIR "/azure-llm/AzureLLMInferenceTrace_conv.csv");
  std::vector<std::pair<int, int>> rows;  // (context, generated)
  std::string line;
  std::getline(in, line);  // header
  while (rows.size() < 20 && std::getline(in, line)) {
    const size_t a = line.find(','), b = line.find(',', a + 1);
    if (a == std::string::npos || b == std::string::npos) break;
    rows.emplace_back(std::stoi(line.substr(a + 1, b - a - 1)), std::stoi(line.substr(b + 1)));
  }
  if (rows.size() < 20) return {};
  std::vector<Seq> seqs;
  for (size_t i = 0; i < 19; ++i) {
    const int kv = rows[i].first + rows[i].second / 2;
    if (i < 16) {
      seqs.push_back({kv, 1, SegmentKind::kDecode, false});
    } else {
      seqs.push_back({kv, i == 18 ? 8 : 4, SegmentKind::kVerify, i == 18});
    }
  }
  seqs.push_back({0, std::min(512, rows[19].first), SegmentKind::kPrefill, false});
  return seqs;
}

std::vector<Seq> case_seqs(const std::string& name) {
  if (name == "azure") return azure_seqs();
  if (name == "decode16x1024") return std::vector<Seq>(16, {1024, 1, SegmentKind::kDecode, false});
  if (name == "decode8192") return {{8192, 1, SegmentKind::kDecode, false}};
  if (name == "prefill512") return {{0, 512, SegmentKind::kPrefill, false}};
  if (name == "tree64") return {{2000, 64, SegmentKind::kVerify, true}};
  if (name == "chain64") return {{2000, 64, SegmentKind::kVerify, false}};
  std::vector<Seq> mixed = {{768, 256, SegmentKind::kPrefill, false}};
  for (int i = 0; i < 12; ++i) mixed.push_back({200 + i * 330, 1, SegmentKind::kDecode, false});
  mixed.push_back({1500, 5, SegmentKind::kVerify, false});
  mixed.push_back({600, 5, SegmentKind::kVerify, false});
  mixed.push_back({2200, 8, SegmentKind::kVerify, true});
  return mixed;
}

WorkerPool& pool() {
  static WorkerPool p(WorkerPoolOptions{bench_threads(), true, false, 50});
  return p;
}

cpu::AttentionShape shape_of(const ModelHeads& m, int block_size) {
  return cpu::AttentionShape{m.n_heads, m.n_kv_heads, m.head_dim, block_size, 0};
}

void set_counters(benchmark::State& state, const Step& st) {
  state.counters["Tokens"] = benchmark::Counter(static_cast<double>(st.table.num_tokens()),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.counters["KvBytes"] = benchmark::Counter(static_cast<double>(st.kv_bytes),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// Plan once (as every layer after the first reuses it), run per iteration, on `isa`
// (run_attention's best_attention_isa() unless given).
void bm_meta(benchmark::State& state, ModelHeads m, std::string name, DType dtype, bool split,
             std::optional<cpu::AttentionIsa> isa) {
  auto st = make_step(case_seqs(name), m, dtype);
  cpu::AttentionPlanOptions options;
  options.allow_split = split;
  const cpu::AttentionPlan plan =
      cpu::plan_attention(st->table, shape_of(m, 16), pool().num_workers(), options);
  cpu::AttentionWorkspace ws;
  const cpu::AttentionIsa use = isa.value_or(cpu::best_attention_isa());
  for (auto _ : state) {
    cpu::run_attention_with(plan, st->table, st->q.data(), st->layer(), st->out.data(), pool(), ws,
                            use);
    benchmark::DoNotOptimize(st->out.data());
  }
  set_counters(state, *st);
}

// The same step as one call of our kernel per segment kind (what per-kind kernels would do).
void bm_per_kind(benchmark::State& state, ModelHeads m, std::string name, DType dtype) {
  const std::vector<Seq> seqs = case_seqs(name);
  std::vector<std::unique_ptr<Step>> parts;
  std::vector<cpu::AttentionPlan> plans;
  int64_t kv_bytes = 0, tokens = 0;
  for (SegmentKind kind : {SegmentKind::kPrefill, SegmentKind::kDecode, SegmentKind::kVerify}) {
    std::vector<Seq> sub;
    for (const Seq& s : seqs) {
      if (s.kind == kind) sub.push_back(s);
    }
    if (sub.empty()) continue;
    parts.push_back(make_step(sub, m, dtype));
    plans.push_back(
        cpu::plan_attention(parts.back()->table, shape_of(m, 16), pool().num_workers()));
    kv_bytes += parts.back()->kv_bytes;
    tokens += parts.back()->table.num_tokens();
  }
  cpu::AttentionWorkspace ws;
  for (auto _ : state) {
    for (size_t i = 0; i < parts.size(); ++i) {
      Step& st = *parts[i];
      cpu::run_attention(plans[i], st.table, st.q.data(), st.layer(), st.out.data(), pool(), ws);
      benchmark::DoNotOptimize(st.out.data());
    }
  }
  state.counters["Tokens"] = benchmark::Counter(static_cast<double>(tokens),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.counters["KvBytes"] = benchmark::Counter(static_cast<double>(kv_bytes),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void bm_ref(benchmark::State& state, ModelHeads m, std::string name, DType dtype) {
  auto st = make_step(case_seqs(name), m, dtype);
  const ref::AttentionParams params{m.n_heads, static_cast<float>(1.0 / std::sqrt(m.head_dim)), 0};
  for (auto _ : state) {
    ref::paged_attention(st->q.data(), st->layer(), st->table, params, st->out.data());
    benchmark::DoNotOptimize(st->out.data());
  }
  set_counters(state, *st);
}

void bm_plan(benchmark::State& state, ModelHeads m, std::string name) {
  auto st = make_step(case_seqs(name), m, DType::kBF16);
  for (auto _ : state) {
    cpu::AttentionPlan plan = cpu::plan_attention(st->table, shape_of(m, 16), pool().num_workers());
    benchmark::DoNotOptimize(plan.items.data());
  }
}

void register_all() {
  std::vector<const char*> cases = {"decode16x1024", "decode8192", "prefill512",
                                    "mixed",         "tree64",     "chain64"};
  if (!azure_seqs().empty()) cases.push_back("azure");
  for (const ModelHeads& m : kModels) {
    for (const char* c : cases) {
      const std::string base = std::string(m.name) + "/" + c;
      benchmark::RegisterBenchmark(("attention/meta/" + base).c_str(), bm_meta, m, c, DType::kBF16,
                                   true, std::nullopt)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      // Each SIMD ISA on its own, for side-by-side ratios.
      for (cpu::AttentionIsa isa : {cpu::AttentionIsa::kAvx2, cpu::AttentionIsa::kAvx512Bf16}) {
        if (!cpu::attention_isa_supported(isa)) continue;
        benchmark::RegisterBenchmark(
            ("attention/meta_" + std::string(cpu::attention_isa_name(isa)) + "/" + base).c_str(),
            bm_meta, m, c, DType::kBF16, true, isa)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
      if (std::string(c) == "decode8192") {
        benchmark::RegisterBenchmark(("attention/meta_split_off/" + base).c_str(), bm_meta, m, c,
                                     DType::kBF16, false, std::nullopt)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
      if (std::string(c) == "mixed" || std::string(c) == "azure" ||
          std::string(c) == "decode8192") {
        benchmark::RegisterBenchmark(("attention/per_kind/" + base).c_str(), bm_per_kind, m, c,
                                     DType::kBF16)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("attention/meta_f32/" + base).c_str(), bm_meta, m, c,
                                     DType::kF32, true, std::nullopt)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
      benchmark::RegisterBenchmark(("attention/ref/" + base).c_str(), bm_ref, m, c, DType::kBF16)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("attention/plan/" + base).c_str(), bm_plan, m, c)
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace
}  // namespace xy::bench

int main(int argc, char** argv) {
  xy::bench::register_all();
  return xy::bench::run_benchmarks(argc, argv);
}
