// Token embedding lookup.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace xy::ref {

// out[t, :] = table[ids[t], :] widened to f32.
//   table: [vocab, hidden] in table_dtype (f32, bf16 or f16)
//   ids:   [n_tokens], each in [0, vocab) (checked: an out-of-range id is a programmer error here;
//          the model validates token ids before calling)
//   out:   [n_tokens, hidden] f32
void embedding(const void* table, DType table_dtype, int vocab, int hidden, const int32_t* ids,
               int n_tokens, float* out);

}  // namespace xy::ref
