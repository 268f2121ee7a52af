// Packing errors, the GEMM tune table (lookup, JSON, files) and the tuner.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gemm_test_util.h"
#include "kernels/cpu/gemm_tuner.h"
#include "kernels/cpu/smooth_gemm.h"

namespace xy::cpu {
namespace {

using testing::random_floats;
using testing::random_weight;
using testing::reference_columns;
using testing::rel_l2;
using testing::same_bits;

TEST(PackedWeight, RejectsBadInputWithPreciseMessages) {
  const float w[4] = {1, 2, 3, 4};
  auto r = PackedWeight::pack(w, DType::kF32, 0, 4, DType::kF32, WeightLayout::kPlain, "l0.q");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("l0.q"), std::string::npos);
  r = PackedWeight::pack(nullptr, DType::kF32, 2, 2, DType::kF32);
  EXPECT_FALSE(r.is_ok());
  r = PackedWeight::pack(w, DType::kF32, 1, 4, DType::kF32, WeightLayout::kGateUp, "mlp.gate_up");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("even"), std::string::npos);
  r = PackedWeight::pack(w, DType::kF32, 2, 2, DType::kF16);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("f16"), std::string::npos);
}

TEST(PackedWeight, F16AndF32SourcesRoundToBf16Storage) {
  std::mt19937 rng(31);
  const int n = 37, k = 23, m = 5;
  WorkerPool pool({.num_workers = 2, .pin = false});
  const std::vector<float> w32 = random_floats(static_cast<size_t>(n) * k, rng);
  std::vector<uint16_t> w16(w32.size());
  convert_from_f32(DType::kF16, w32.data(), w16.data(), w32.size());
  for (DType src : {DType::kF32, DType::kF16}) {
    const void* data = src == DType::kF32 ? static_cast<const void*>(w32.data()) : w16.data();
    auto packed = PackedWeight::pack(data, src, n, k, DType::kBF16);
    ASSERT_TRUE(packed.is_ok());
    // The reference sees the same bf16-rounded weights.
    std::vector<float> wf(w32.size());
    convert_to_f32(src, data, wf.data(), wf.size());
    std::vector<uint8_t> wb(wf.size() * 2);
    convert_from_f32(DType::kBF16, wf.data(), wb.data(), wf.size());
    const std::vector<float> x = random_floats(static_cast<size_t>(m) * k, rng);
    std::vector<float> y(static_cast<size_t>(m) * n);
    GemmArgs args;
    args.m = m;
    args.x = x.data();
    args.y = y.data();
    smooth_gemm(*packed, args, pool);
    std::vector<int> cols(n);
    for (int j = 0; j < n; ++j) cols[j] = j;
    const auto want = reference_columns(x.data(), m, k, k, wb.data(), DType::kBF16, n, false,
                                        nullptr, nullptr, 0, cols);
    EXPECT_LT(rel_l2(y, want), 1e-5) << dtype_name(src);
  }
}

GemmTuneTable sample_table() {
  GemmTuneTable t;
  t.isa = "avx2";
  t.threads = 2;
  const GemmShapeKey a{960, 576, DType::kBF16, WeightLayout::kPlain};
  const GemmShapeKey b{3072, 576, DType::kF32, WeightLayout::kGateUp};
  t.entries = {{a, 1, {1, 4, 1}},
               {a, 16, {4, 1, 3}},
               {a, 512, {6, 1, 18}},
               {b, 8, {2, 2, 1}},
               {b, 1024, {14, 2, 8, 1024}}};
  return t;
}

TEST(GemmTuneTable, FindPicksTheSmallestCoveringBucket) {
  const GemmTuneTable t = sample_table();
  const GemmShapeKey a{960, 576, DType::kBF16, WeightLayout::kPlain};
  EXPECT_EQ(*t.find(a, 1), (GemmTileConfig{1, 4, 1}));
  EXPECT_EQ(*t.find(a, 2), (GemmTileConfig{4, 1, 3}));
  EXPECT_EQ(*t.find(a, 16), (GemmTileConfig{4, 1, 3}));
  EXPECT_EQ(*t.find(a, 17), (GemmTileConfig{6, 1, 18}));
  EXPECT_EQ(*t.find(a, 8192), (GemmTileConfig{6, 1, 18}));  // beyond every bucket: the largest
  EXPECT_EQ(t.find({960, 576, DType::kF32, WeightLayout::kPlain}, 1), nullptr);
  EXPECT_EQ(*t.find({3072, 576, DType::kF32, WeightLayout::kGateUp}, 8), (GemmTileConfig{2, 2, 1}));
  EXPECT_EQ(*t.find({3072, 576, DType::kF32, WeightLayout::kGateUp}, 100),
            (GemmTileConfig{14, 2, 8, 1024}));
}

TEST(GemmTuneTable, JsonAndFileRoundTrip) {
  const GemmTuneTable t = sample_table();
  auto back = GemmTuneTable::from_json(t.to_json());
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->isa, "avx2");
  EXPECT_EQ(back->threads, 2);
  ASSERT_EQ(back->entries.size(), t.entries.size());
  for (size_t i = 0; i < t.entries.size(); ++i) {
    EXPECT_EQ(back->entries[i].shape, t.entries[i].shape);
    EXPECT_EQ(back->entries[i].m_max, t.entries[i].m_max);
    EXPECT_EQ(back->entries[i].config, t.entries[i].config);
  }
  const std::string path = ::testing::TempDir() + "gemm_tune_" + std::to_string(getpid()) + ".json";
  ASSERT_TRUE(t.save(path).is_ok());
  auto loaded = GemmTuneTable::load(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->to_json(), t.to_json());
  std::remove(path.c_str());
  auto missing = GemmTuneTable::load(path);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
  EXPECT_EQ(GemmTuneTable::load("/nonexistent-dir/x.json").status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(t.save("/nonexistent-dir/x.json").is_ok());
}

// Tables written before k-blocking have no "kc": they load with no k-block.
TEST(GemmTuneTable, EntriesWithoutKcLoadWithoutAKBlock) {
  std::string text = sample_table().to_json();
  for (size_t at; (at = text.find("\"kc\":")) != std::string::npos;) {
    const size_t line = text.rfind('\n', at) + 1;  // keys are sorted: "kc" is never the last
    text.erase(line, text.find('\n', at) + 1 - line);
  }
  ASSERT_EQ(text.find("kc"), std::string::npos) << text;
  auto t = GemmTuneTable::from_json(text);
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->entries.back().config, (GemmTileConfig{14, 2, 8, 0}));
}

TEST(GemmTuneTable, MalformedJsonIsAFormatErrorNamingTheProblem) {
  const std::string good = sample_table().to_json();
  struct Bad {
    std::string text, needle;
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const Bad bads[] = {
      {"{", "not valid JSON"},
      {"[]", "object"},
      {replaced("xyserve-gemm-tune", "other"), "format"},
      {replaced("\"version\": 1", "\"version\": 9"), "version"},
      {replaced("\"mr\": 6", "\"mr\": 5"), "entries[2]"},
      {replaced("\"dtype\": \"bf16\"", "\"dtype\": \"f16\""), "entries[0]"},
      {replaced("\"layout\": \"gate_up\"", "\"layout\": \"fused\""), "layout"},
      {replaced("\"m_max\": 16", "\"m_max\": -3"), "m_max"},
      {replaced("\"k\": 576", "\"k\": \"576\""), "'k'"},
      {replaced("\"threads\": 2,", ""), "threads"},
      {replaced("\"kc\": 1024", "\"kc\": 1023"), "'kc' must be even"},
      {replaced("\"kc\": 1024", "\"kc\": -2"), "'kc'"},
  };
  for (const Bad& b : bads) {
    auto r = GemmTuneTable::from_json(b.text, "tune.json");
    ASSERT_FALSE(r.is_ok()) << b.text;
    EXPECT_EQ(r.status().code(), ErrorCode::kFormatError);
    EXPECT_NE(r.status().message().find(b.needle), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("tune.json"), std::string::npos);
  }
}

TEST(GemmTuner, ProducesUsableEntriesAndTunedRunsAreBitwiseTheSame) {
  WorkerPool pool({.num_workers = 2, .pin = false});
  const std::vector<GemmShapeKey> shapes = {{70, 40, DType::kBF16, WeightLayout::kPlain},
                                            {64, 33, DType::kF32, WeightLayout::kGateUp}};
  GemmTuneOptions options;
  options.ms = {33, 1, 5};
  options.repeats = 1;
  auto table = tune_smooth_gemm(shapes, options, pool);
  ASSERT_TRUE(table.is_ok()) << table.status().to_string();
  EXPECT_EQ(table->isa, gemm_isa_name(best_gemm_isa()));
  EXPECT_EQ(table->threads, 2);
  ASSERT_EQ(table->entries.size(), 6u);
  for (const GemmTuneEntry& e : table->entries)
    EXPECT_TRUE(is_supported_gemm_kernel(e.config.mr, e.config.np));
  EXPECT_EQ(table->entries[0].m_max, 1);  // sorted buckets
  EXPECT_EQ(table->entries[2].m_max, 33);

  std::mt19937 rng(32);
  const GemmShapeKey& s = shapes[0];
  const std::vector<uint8_t> w_src = random_weight(s.n_rows, s.k, s.storage, rng);
  auto w = PackedWeight::pack(w_src.data(), s.storage, s.n_rows, s.k, s.storage);
  ASSERT_TRUE(w.is_ok());
  for (int m : {1, 4, 20, 40}) {
    const std::vector<float> x = random_floats(static_cast<size_t>(m) * s.k, rng);
    std::vector<float> tuned(static_cast<size_t>(m) * s.n_rows), plain(tuned.size());
    GemmArgs args;
    args.m = m;
    args.x = x.data();
    args.y = tuned.data();
    smooth_gemm(*w, args, pool, &*table);
    EXPECT_EQ(choose_gemm_config(*w, m, 2, &*table), *table->find(s, m));
    args.y = plain.data();
    smooth_gemm(*w, args, pool);
    for (size_t i = 0; i < tuned.size(); ++i) ASSERT_TRUE(same_bits(tuned[i], plain[i]));
  }
  // A table measured on another ISA is ignored.
  GemmTuneTable other = *table;
  other.isa = "some-other-isa";
  EXPECT_EQ(choose_gemm_config(*w, 20, 2, &other), choose_gemm_config(*w, 20, 2, nullptr));
}

TEST(GemmTuner, RejectsBadRequests) {
  WorkerPool pool({.num_workers = 1, .pin = false});
  GemmTuneOptions options;
  EXPECT_EQ(tune_smooth_gemm({}, options, pool).status().code(), ErrorCode::kInvalidArgument);
  options.ms = {0};
  EXPECT_FALSE(
      tune_smooth_gemm({{16, 16, DType::kF32, WeightLayout::kPlain}}, options, pool).is_ok());
  options.ms = {1};
  EXPECT_FALSE(
      tune_smooth_gemm({{0, 16, DType::kF32, WeightLayout::kPlain}}, options, pool).is_ok());
  EXPECT_FALSE(
      tune_smooth_gemm({{3, 16, DType::kF32, WeightLayout::kGateUp}}, options, pool).is_ok());
}

TEST(GemmTuner, LlamaShapesOfSmollm2) {
  const auto s = llama_gemm_shapes(576, 1536, 9, 3, 64, 49152, DType::kBF16);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], (GemmShapeKey{960, 576, DType::kBF16, WeightLayout::kPlain}));
  EXPECT_EQ(s[1], (GemmShapeKey{576, 576, DType::kBF16, WeightLayout::kPlain}));
  EXPECT_EQ(s[2], (GemmShapeKey{3072, 576, DType::kBF16, WeightLayout::kGateUp}));
  EXPECT_EQ(s[3], (GemmShapeKey{576, 1536, DType::kBF16, WeightLayout::kPlain}));
  EXPECT_EQ(s[4], (GemmShapeKey{49152, 576, DType::kBF16, WeightLayout::kPlain}));
}

TEST(GemmTileConfig, DefaultsAreSupportedKernelsForEveryM) {
  for (int m = 1; m <= 9000; m += (m < 64 ? 1 : 97)) {
    for (int k : {64, 576, 8192}) {
      const GemmTileConfig c = default_gemm_config(m, k, 60, 2);
      EXPECT_TRUE(is_supported_gemm_kernel(c.mr, c.np)) << m;
      EXPECT_GE(c.m_block, 1);
      for (const GemmTileConfig& cand : gemm_tune_candidates(m, k, 60, 2))
        EXPECT_TRUE(is_supported_gemm_kernel(cand.mr, cand.np));
    }
  }
}

}  // namespace
}  // namespace xy::cpu
