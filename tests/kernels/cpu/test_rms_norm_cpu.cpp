// cpu::rms_norm vs ref::rms_norm on random inputs over many shapes, every ISA path, 1 and 2
// workers, strided and in-place rows. The kernel reproduces the reference's operation sequence,
// so the check is bitwise (which implies the rel-L2 < 1e-5 bar).
#include <gtest/gtest.h>

#include "elementwise_test_util.h"
#include "kernels/reference/rms_norm.h"

namespace xy::cpu {
namespace {

using testing::bitwise_equal;
using testing::runnable_isas;
using testing::uniform_floats;

TEST(RmsNormCpu, MatchesReferenceBitwiseOverShapes) {
  std::mt19937 rng(11);
  WorkerPool one({.num_workers = 1});
  WorkerPool two({.num_workers = 2});
  for (ElementwiseIsa isa : runnable_isas()) {
    for (int dim : {1, 7, 8, 9, 64, 100, 128, 576, 896, 2048}) {
      for (int rows : {1, 2, 3, 17, 64}) {
        const auto x = uniform_floats(static_cast<size_t>(rows) * dim, rng, -3.0f, 3.0f);
        const auto w = uniform_floats(static_cast<size_t>(dim), rng, 0.5f, 1.5f);
        std::vector<float> want(x.size());
        ref::rms_norm(x.data(), w.data(), want.data(), rows, dim, 1e-6f);
        for (WorkerPool* pool : {&one, &two}) {
          std::vector<float> got(x.size(), -1.0f);
          rms_norm(x.data(), 0, w.data(), got.data(), 0, rows, dim, 1e-6f, *pool, isa);
          EXPECT_TRUE(bitwise_equal(got.data(), want.data(), got.size() * 4))
              << testing::isa_label(isa) << " dim " << dim << " rows " << rows << " workers "
              << pool->num_workers();
        }
      }
    }
  }
}

TEST(RmsNormCpu, StridedAndInPlace) {
  std::mt19937 rng(12);
  WorkerPool pool({.num_workers = 2});
  const int rows = 9, dim = 40, ld = 56;
  auto x = uniform_floats(static_cast<size_t>(rows) * ld, rng, -2.0f, 2.0f);
  const auto w = uniform_floats(static_cast<size_t>(dim), rng, -1.0f, 1.0f);
  std::vector<float> compact(static_cast<size_t>(rows) * dim), want(compact.size());
  for (int r = 0; r < rows; ++r)
    std::copy_n(&x[static_cast<size_t>(r) * ld], dim, &compact[static_cast<size_t>(r) * dim]);
  ref::rms_norm(compact.data(), w.data(), want.data(), rows, dim, 1e-5f);
  for (ElementwiseIsa isa : runnable_isas()) {
    auto inplace = x;
    rms_norm(inplace.data(), ld, w.data(), inplace.data(), ld, rows, dim, 1e-5f, pool, isa);
    for (int r = 0; r < rows; ++r) {
      EXPECT_TRUE(bitwise_equal(&inplace[static_cast<size_t>(r) * ld],
                                &want[static_cast<size_t>(r) * dim], dim * 4))
          << "row " << r;
      // Padding between rows is untouched.
      EXPECT_TRUE(bitwise_equal(&inplace[static_cast<size_t>(r) * ld + dim],
                                &x[static_cast<size_t>(r) * ld + dim], (ld - dim) * 4));
    }
  }
}

}  // namespace
}  // namespace xy::cpu
