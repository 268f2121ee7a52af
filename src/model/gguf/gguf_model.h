// A GGUF file as a Llama-family model: its hyper-parameters as a ModelConfig (from the
// `{arch}.*` keys llama.cpp's converter writes) and its tensors under Hugging Face names, in the
// element types the weight loader takes, so the rest of the model code does not know the file was
// GGUF. Architectures: llama (and Mistral files, which llama.cpp writes as llama), qwen2, qwen3.
//
// What the conversion to GGUF changed is undone here:
//   * names: token_embd / blk.N.attn_q / ffn_down ... -> model.embed_tokens / model.layers.N...;
//   * shapes: GGUF lists dimensions innermost first ([cols, rows]); HF lists [rows, cols];
//   * llama only: the converter permutes the rows of q and k within each head from HF's
//     rotate-half order (pairs i, i + d/2) to interleaved pairs (2i, 2i + 1); the rows are put
//     back so the model's RoPE is the same as for the safetensors checkpoint;
//   * quantized blocks (Q8_0, Q4_K, ...) are dequantized at load into `dequant_dtype` (bf16 or
//     f32), or, with keep_blocks, their matrices stay blocks (TensorInfo::blocks) for the
//     quantized CPU kernels; F32/F16/BF16 tensors stay in the mapping, uncopied.
#pragma once

#include <memory>
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "model/gguf/gguf_file.h"
#include "model/model_config.h"
#include "model/safetensors.h"

namespace xy::gguf {

// The ModelConfig of a parsed GGUF file. kUnsupported names what is outside xyserve's support
// (another architecture, a rope_freqs tensor); kNotFound / kFormatError name the key.
Result<ModelConfig> model_config_from_gguf(const File& file, const std::string& source);

// An opened GGUF model file: its metadata (tensor data pointers valid while `archive` lives),
// config, and tensors under HF names. The archive owns the mapping and dequantized copies.
struct GgufModel {
  File file;
  ModelConfig config;
  std::unique_ptr<SafetensorsArchive> archive;
};

// Maps and parses `path`. Errors name the file, key and tensor.
Result<GgufModel> open_gguf_model(const std::string& path, DType dequant_dtype,
                                  bool keep_blocks = false);

// The same over an already parsed file whose bytes the caller keeps alive.
Result<std::unique_ptr<SafetensorsArchive>> gguf_archive(const File& file,
                                                         const ModelConfig& config,
                                                         DType dequant_dtype, bool keep_blocks,
                                                         const std::string& source);

// The block type holding most of the file's matrix bytes, e.g. "Q4_K" for a Q4_K_M file (which
// mixes Q4_K and Q6_K); "" when the file has no 2-D tensor.
std::string dominant_tensor_type(const File& file);

// True when `path` names a .gguf file (by its extension), or a directory holding exactly one.
// `*gguf_path` receives the file.
bool find_gguf(const std::string& path, std::string* gguf_path);

}  // namespace xy::gguf
