// Thread-safety smoke test: many threads encoding and decoding concurrently through one
// Tokenizer (sharing its word cache) must produce exactly the single-threaded results.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tokenizer/streaming_detokenizer.h"
#include "tokenizer_test_util.h"

namespace xy {
namespace {

TEST(TokenizerThreads, ConcurrentEncodeDecodeMatchesSerial) {
  for (const char* name : {"llama3", "gemma3"}) {
    const Tokenizer& tok = testing_util::real_tokenizer(name);
    const auto texts = testing_util::golden_texts(name);
    std::vector<std::vector<int32_t>> serial_ids;
    std::vector<std::string> serial_text;
    for (const auto& t : texts) {
      serial_ids.push_back(*tok.encode(t));
      serial_text.push_back(tok.decode(serial_ids.back()));
    }
    constexpr int kThreads = 8;
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < kThreads; ++w) {
      threads.emplace_back([&, w] {
        // Each thread walks the strings in a different order so cache fills interleave.
        for (size_t k = 0; k < texts.size(); ++k) {
          const size_t i = (k * 7 + static_cast<size_t>(w) * 131) % texts.size();
          auto ids = tok.encode(texts[i]);
          if (!ids.is_ok() || *ids != serial_ids[i]) ++mismatches;
          if (tok.decode(serial_ids[i]) != serial_text[i]) ++mismatches;
          if (k % 50 == 0) {
            StreamingDetokenizer s(tok);
            std::string out;
            for (int32_t id : serial_ids[i]) out += s.push(id);
            out += s.finish();
            if (out != serial_text[i]) ++mismatches;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0) << name;
  }
}

}  // namespace
}  // namespace xy
