// Encode throughput on a few MB of the golden text mix (prose, code, CJK, emoji...), single
// thread, warm word cache and cold (every word new). Prints MB/s; asserts only a floor far below
// the expected speed so a pathological regression (quadratic merge loop, regex backtracking)
// fails the suite.
#include <gtest/gtest.h>

#include <chrono>

#include "tokenizer_test_util.h"

namespace xy {
namespace {

TEST(TokenizerThroughput, EncodeMegabytesPerSecond) {
  for (const char* name : {"llama3", "qwen3", "gemma3", "llama2"}) {
    const Tokenizer& tok = testing_util::real_tokenizer(name);
    std::string corpus;
    for (const auto& t : testing_util::golden_texts(name)) {
      corpus += t;
      corpus += '\n';
    }
    std::string big;
    while (big.size() < (4u << 20)) big += corpus;
    size_t n_tokens = 0;
    const auto t0 = std::chrono::steady_clock::now();
    auto ids = tok.encode(big, false);
    const auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(ids.is_ok());
    n_tokens = ids->size();
    const double s = std::chrono::duration<double>(t1 - t0).count();
    const double mbps = static_cast<double>(big.size()) / 1e6 / s;
    std::printf("[throughput] %s: %.1f MB in %.3f s = %.1f MB/s, %.2f M tokens/s (%zu tokens)\n",
                name, static_cast<double>(big.size()) / 1e6, s, mbps,
                static_cast<double>(n_tokens) / 1e6 / s, n_tokens);
    EXPECT_GT(mbps, 0.3) << name;
  }
}

}  // namespace
}  // namespace xy
