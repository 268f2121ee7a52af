// Encode throughput on a few MB of the golden text mix (prose, code, CJK, emoji...), single
// thread, warm word cache and cold (every word new). Prints MB/s; asserts only a floor far below
// the expected speed so a pathological regression (quadratic merge loop, regex backtracking)
// fails the suite.
#include <gtest/gtest.h>

#include <chrono>

#include "tokenizer_test_util.h"

namespace xy {
namespace {

// Encodes `corpus` repeated to >= 4 MB in one call and prints the rate.
double measure(const char* name, const char* label, const Tokenizer& tok,
               const std::string& corpus) {
  std::string big;
  while (big.size() < (4u << 20)) big += corpus;
  const auto t0 = std::chrono::steady_clock::now();
  auto ids = tok.encode(big, false);
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_TRUE(ids.is_ok());
  const double s = std::chrono::duration<double>(t1 - t0).count();
  const double mbps = static_cast<double>(big.size()) / 1e6 / s;
  std::printf("[throughput] %-6s %-8s %.1f MB in %.3f s = %5.1f MB/s, %.2f M tokens/s\n", name,
              label, static_cast<double>(big.size()) / 1e6, s, mbps,
              static_cast<double>(ids.is_ok() ? ids->size() : 0) / 1e6 / s);
  return mbps;
}

TEST(TokenizerThroughput, EncodeMegabytesPerSecond) {
  for (const char* name : {"llama3", "qwen3", "gemma3", "llama2"}) {
    const Tokenizer& tok = testing_util::real_tokenizer(name);
    std::string mixed, ascii;  // all golden strings / only the pure-ASCII ones (prose, code)
    for (const auto& t : testing_util::golden_texts(name)) {
      mixed += t;
      mixed += '\n';
      bool is_ascii = true;
      for (char c : t) is_ascii = is_ascii && static_cast<unsigned char>(c) < 0x80;
      if (is_ascii) {
        ascii += t;
        ascii += '\n';
      }
    }
    EXPECT_GT(measure(name, "mixed", tok, mixed), 0.3);
    EXPECT_GT(measure(name, "ascii", tok, ascii), 0.3);
  }
}

}  // namespace
}  // namespace xy
