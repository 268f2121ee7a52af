// `xyserve quantize`: a Hugging Face Llama-family checkpoint (config.json, safetensors,
// tokenizer.json, tokenizer_config.json) written as one GGUF file that xyserve and llama.cpp
// load: llama.cpp's key names, tensor names and q/k row order (gguf_names.h), its tokenizer
// keys (gguf_tokenizer.h), and the weight matrices in the chosen type. Norms and biases stay
// F32; a matrix whose rows are not a multiple of the block length is written F16.
#pragma once

#include <string>

#include "core/status.h"

namespace xy::gguf {

// kQ4_K_M: llama.cpp's mix of Q4_K with Q6_K for the sensitive matrices (see gguf_convert.cpp).
enum class OutType { kF32, kF16, kBF16, kQ8_0, kQ4_0, kQ4_K_M };

// "f32" | "f16" | "bf16" | "q8_0" | "q4_0" | "q4_k_m"; kInvalidArgument naming the choices
// otherwise.
Result<OutType> parse_out_type(const std::string& name);

Status convert_checkpoint_to_gguf(const std::string& hf_dir, const std::string& out_path,
                                  OutType type);

}  // namespace xy::gguf
