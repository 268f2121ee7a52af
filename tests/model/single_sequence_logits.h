// Logits of every position of one sequence run as a single prefill step on a fresh KV cache
// (block size 16): the common oracle of the model-level tests.
#pragma once

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "model/model.h"
#include "model/token_table_builder.h"

namespace xy::testing_model {

inline std::vector<float> single_sequence_logits(Model& model, const std::vector<int32_t>& seq,
                                                 DType kv = DType::kF32) {
  const int bs = 16;
  const int blocks = (static_cast<int>(seq.size()) + bs - 1) / bs;
  auto cache = model.make_kv_cache(blocks, bs, kv);
  EXPECT_TRUE(cache.is_ok());
  std::vector<int32_t> ids(static_cast<size_t>(blocks));
  std::iota(ids.begin(), ids.end(), 0);
  std::vector<float> out(seq.size() * model.config().vocab_size);
  EXPECT_TRUE(
      model.forward(make_single_sequence_table(seq, 0, ids, bs, true), *cache, out.data()).is_ok());
  return out;
}

}  // namespace xy::testing_model
