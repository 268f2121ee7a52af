#include "kernels/reference/embedding.h"

#include "core/check.h"
#include "kernels/reference/widen.h"

namespace xy::ref {

void embedding(const void* table, DType table_dtype, int vocab, int hidden, const int32_t* ids,
               int n_tokens, float* out) {
  const size_t row_bytes = static_cast<size_t>(hidden) * dtype_size(table_dtype);
  for (int t = 0; t < n_tokens; ++t) {
    XY_CHECK_MSG(ids[t] >= 0 && ids[t] < vocab, "token id outside the embedding table");
    const void* row = static_cast<const char*>(table) + static_cast<size_t>(ids[t]) * row_bytes;
    widen_to_f32(table_dtype, row, out + static_cast<size_t>(t) * hidden,
                 static_cast<size_t>(hidden));
  }
}

}  // namespace xy::ref
