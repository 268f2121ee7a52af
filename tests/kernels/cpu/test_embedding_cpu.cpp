// cpu::embedding and cpu::embedding_from_packed vs ref::embedding: exact widening, so bitwise.
#include <gtest/gtest.h>

#include "elementwise_test_util.h"
#include "kernels/cpu/embedding_cpu.h"
#include "kernels/reference/embedding.h"

namespace xy::cpu {
namespace {

std::vector<uint8_t> table_bytes(const std::vector<float>& f, DType dtype) {
  std::vector<uint8_t> bytes(f.size() * dtype_size(dtype));
  convert_from_f32(dtype, f.data(), bytes.data(), f.size());
  return bytes;
}

TEST(EmbeddingCpu, RowMajorMatchesReference) {
  std::mt19937 rng(5);
  WorkerPool pool({.num_workers = 2});
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (auto [vocab, hidden] : {std::pair{5, 3}, {100, 64}, {37, 576}}) {
      const auto f = testing::uniform_floats(static_cast<size_t>(vocab) * hidden, rng, -2, 2);
      const auto table = table_bytes(f, dtype);
      for (int n : {1, 2, 33, 70}) {
        std::vector<int32_t> ids(static_cast<size_t>(n));
        for (auto& id : ids) id = static_cast<int32_t>(rng() % vocab);
        std::vector<float> want(static_cast<size_t>(n) * hidden), got(want.size(), -1);
        ref::embedding(table.data(), dtype, vocab, hidden, ids.data(), n, want.data());
        embedding(table.data(), dtype, vocab, hidden, ids.data(), n, got.data(), pool);
        EXPECT_TRUE(testing::bitwise_equal(got.data(), want.data(), got.size() * 4))
            << dtype_name(dtype) << " " << vocab << "x" << hidden << " n " << n;
      }
    }
  }
}

TEST(EmbeddingCpu, FromPackedPanelsMatchesReference) {
  std::mt19937 rng(6);
  WorkerPool pool({.num_workers = 2});
  for (DType storage : {DType::kF32, DType::kBF16}) {
    for (auto [vocab, hidden] : {std::pair{1, 8}, {17, 5}, {100, 64}, {300, 96}}) {
      const auto f = testing::uniform_floats(static_cast<size_t>(vocab) * hidden, rng, -2, 2);
      // The packed panels hold storage-dtype values; the oracle reads the same rounded table.
      const auto table = table_bytes(f, storage);
      auto packed = PackedWeight::pack(table.data(), storage, vocab, hidden, storage);
      ASSERT_TRUE(packed.is_ok()) << packed.status().to_string();
      std::vector<int32_t> ids;
      for (int i = 0; i < 40; ++i) ids.push_back(static_cast<int32_t>(rng() % vocab));
      ids.push_back(vocab - 1);
      ids.push_back(0);
      const int n = static_cast<int>(ids.size());
      std::vector<float> want(static_cast<size_t>(n) * hidden), got(want.size(), -1);
      ref::embedding(table.data(), storage, vocab, hidden, ids.data(), n, want.data());
      embedding_from_packed(*packed, ids.data(), n, got.data(), pool);
      EXPECT_TRUE(testing::bitwise_equal(got.data(), want.data(), got.size() * 4))
          << dtype_name(storage) << " " << vocab << "x" << hidden;
    }
  }
}

}  // namespace
}  // namespace xy::cpu
