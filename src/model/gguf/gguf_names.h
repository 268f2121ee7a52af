// How llama.cpp's converter names and lays out a Llama-family checkpoint's tensors in GGUF, both
// ways, so reading (gguf_model.cpp) and writing (gguf_convert.cpp) agree by construction.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "model/model_config.h"

namespace xy::gguf {

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"; "" when the model has no
// use for the tensor (rope_freqs, ...).
std::string hf_tensor_name(const std::string& gguf_name);
// The inverse; "" for a name outside the mapping.
std::string gguf_tensor_name(const std::string& hf_name);

// llama's q and k projections are stored with the rows of each head permuted from HF's
// rotate-half order (pairs i, i + d/2) to interleaved pairs (2i, 2i + 1): row `gguf_row` of the
// GGUF tensor is row hf_row_of(gguf_row) of the HF one. Qwen files are not permuted.
int64_t hf_row_of(int64_t gguf_row, int head_dim);

// The number of heads whose rows tensor `gguf_name` has permuted (q: attention heads, k: KV heads,
// weights and biases alike) in a file of `arch`; 0 when it is stored as HF has it.
int permuted_heads(const std::string& gguf_name, const ModelConfig& config);

// kFormatError unless a permuted tensor has heads x head_dim rows (`rows`: its row count, or its
// length for a bias), which hf_row_of needs to stay inside the tensor.
Status check_permuted_rows(const std::string& name, int64_t rows, const ModelConfig& config,
                           const std::string& source);

}  // namespace xy::gguf
