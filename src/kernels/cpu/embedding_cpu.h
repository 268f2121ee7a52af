// Token embedding gather on the CPU, from the checkpoint's row-major table or, for models with
// tied embeddings, straight from lm_head's packed SmoothGEMM panels (so the [vocab, hidden]
// matrix is resident once). Exact widening (bf16/f16 -> f32), so results equal ref::embedding
// bit for bit. Tokens are split over the WorkerPool.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/worker_pool.h"
#include "kernels/cpu/packed_weight.h"
#include "kernels/reference/quant_blocks.h"

namespace xy::cpu {

// out[t, :] = table[ids[t], :] widened to f32.
//   table: [vocab, hidden] row-major in table_dtype (f32, bf16, f16)
//   ids:   [n_tokens], each in [0, vocab) (XY_CHECK)
//   out:   [n_tokens, hidden] f32
void embedding(const void* table, DType table_dtype, int vocab, int hidden, const int32_t* ids,
               int n_tokens, float* out, WorkerPool& pool);

// Same from a table of quantized rows (a GGUF matrix kept in its blocks: each row
// block_format_row_bytes(format, hidden) bytes), dequantized as ref::dequantize_row does.
void embedding_blocks(const void* table, ref::BlockFormat format, int vocab, int hidden,
                      const int32_t* ids, int n_tokens, float* out, WorkerPool& pool);

// Same from a plain-layout PackedWeight of W[vocab, hidden] (row n of W is lane n % 16 of panel
// n / 16, stride 16 along k). Values are the packed (storage-dtype) weights widened to f32.
void embedding_from_packed(const PackedWeight& table, const int32_t* ids, int n_tokens, float* out,
                           WorkerPool& pool);

}  // namespace xy::cpu
