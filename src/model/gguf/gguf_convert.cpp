#include "model/gguf/gguf_convert.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numbers>
#include <sstream>
#include <vector>

#include "core/dtype.h"
#include "kernels/reference/quant_blocks.h"
#include "kernels/reference/rope.h"
#include "model/gguf/gguf_names.h"
#include "model/gguf/gguf_tokenizer.h"
#include "model/gguf/gguf_writer.h"
#include "model/model_config.h"
#include "model/safetensors.h"

namespace xy::gguf {
namespace {

using ref::BlockFormat;

// llama.cpp's general.file_type numbers for the types written here.
int file_type_of(OutType t) {
  switch (t) {
    case OutType::kF32:
      return 0;
    case OutType::kF16:
      return 1;
    case OutType::kQ4_0:
      return 2;
    case OutType::kQ8_0:
      return 7;
    case OutType::kQ4_K_M:
      return 15;
    case OutType::kBF16:
      return 32;
  }
  return 0;
}

Result<std::string> read_text(const std::string& path, bool required) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!required) return std::string();
    return not_found(path + ": cannot open");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Q4_K_M's choice, as llama.cpp makes it: 6 bits for the output projection (the embedding when
// tied) and for attn_v / ffn_down in the first and last eighth of the layers and every third
// layer between; 4-bit K blocks elsewhere. Rows that are not whole 256-element super-blocks fall
// back to the 32-element formats (Q4_K -> Q5_0, Q6_K -> Q8_0).
BlockFormat q4_k_m_format(int64_t cols, const std::string& name, bool is_output, int n_layers) {
  bool more_bits = is_output;
  const bool sensitive =
      name.find(".attn_v.") != std::string::npos || name.find(".ffn_down.") != std::string::npos;
  if (sensitive && name.rfind("blk.", 0) == 0) {
    const int i = std::atoi(name.c_str() + 4), n = n_layers;
    more_bits = i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
  }
  if (cols % 256 == 0) return more_bits ? BlockFormat::kQ6_K : BlockFormat::kQ4_K;
  return more_bits ? BlockFormat::kQ8_0 : BlockFormat::kQ5_0;
}

// The block format a matrix of `cols` columns is written in.
BlockFormat matrix_format(OutType t, int64_t cols, const std::string& name, bool is_output,
                          int n_layers) {
  switch (t) {
    case OutType::kQ4_K_M:
      if (cols % 32 != 0) return BlockFormat::kF16;
      return q4_k_m_format(cols, name, is_output, n_layers);
    case OutType::kF32:
      return BlockFormat::kF32;
    case OutType::kF16:
      return BlockFormat::kF16;
    case OutType::kBF16:
      return BlockFormat::kBF16;
    case OutType::kQ8_0:
    case OutType::kQ4_0:
      if (cols % 32 != 0) return BlockFormat::kF16;
      // The output projection is the most sensitive matrix: 8 bits even in a 4-bit file.
      return t == OutType::kQ4_0 && !is_output ? BlockFormat::kQ4_0 : BlockFormat::kQ8_0;
  }
  return BlockFormat::kF32;
}

void encode_row(BlockFormat f, const float* x, uint8_t* out, int64_t n) {
  switch (f) {
    case BlockFormat::kQ8_0:
      ref::quantize_row_q8_0(x, out, n);
      break;
    case BlockFormat::kQ4_0:
      ref::quantize_row_q4_0(x, out, n);
      break;
    case BlockFormat::kQ5_0:
      ref::quantize_row_q5_0(x, out, n);
      break;
    case BlockFormat::kQ4_K:
      ref::quantize_row_q4_k(x, out, n);
      break;
    case BlockFormat::kQ6_K:
      ref::quantize_row_q6_k(x, out, n);
      break;
    case BlockFormat::kF16:
      convert_from_f32(DType::kF16, x, out, size_t(n));
      break;
    case BlockFormat::kBF16:
      convert_from_f32(DType::kBF16, x, out, size_t(n));
      break;
    default:
      convert_from_f32(DType::kF32, x, out, size_t(n));
  }
}

// llama3 rope scaling as GGUF stores it: a divisor per frequency (tensor rope_freqs.weight), from
// the same wavelength bands transformers uses: 1 for short wavelengths, `factor` for long ones,
// and the smooth blend's equivalent divisor between.
void add_rope_freqs(Writer& w, const ModelConfig& c) {
  ref::RopeFrequencyParams base;
  base.theta = c.rope_theta;
  const std::vector<float> inv_freq = ref::rope_inv_freq(c.head_dim, base);
  const RopeScaling& s = c.rope_scaling;
  const float old_context = float(s.original_max_position_embeddings);
  const float low_freq_wavelen = old_context / s.low_freq_factor;
  const float high_freq_wavelen = old_context / s.high_freq_factor;
  std::vector<float> factors;
  for (float f : inv_freq) {
    const float wavelen = float(2.0 * std::numbers::pi) / f;
    if (wavelen < high_freq_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_freq_wavelen) {
      factors.push_back(s.factor);
    } else {
      const float smooth =
          (old_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      factors.push_back(1.0f / ((1.0f - smooth) / s.factor + smooth));
    }
  }
  std::vector<uint8_t> bytes(factors.size() * 4);
  std::memcpy(bytes.data(), factors.data(), bytes.size());
  w.add_tensor("rope_freqs.weight", {int64_t(factors.size())}, uint32_t(BlockFormat::kF32),
               std::move(bytes));
}

Status add_config(Writer& w, const ModelConfig& c, const std::string& arch, OutType type,
                  const std::string& name) {
  if (c.sliding_window) {
    return unsupported(name + ": sliding-window attention cannot be written to GGUF yet");
  }
  if (c.rope_scaling.type == RopeScaling::Type::kLlama3) add_rope_freqs(w, c);
  w.add_string("general.architecture", arch);
  w.add_string("general.name", name);
  w.add_uint32("general.file_type", uint32_t(file_type_of(type)));
  w.add_uint32("general.quantization_version", 2);
  const std::string p = arch + ".";
  w.add_uint32(p + "context_length", uint32_t(c.max_position_embeddings));
  w.add_uint32(p + "embedding_length", uint32_t(c.hidden_size));
  w.add_uint32(p + "block_count", uint32_t(c.num_hidden_layers));
  w.add_uint32(p + "feed_forward_length", uint32_t(c.intermediate_size));
  w.add_uint32(p + "attention.head_count", uint32_t(c.num_attention_heads));
  w.add_uint32(p + "attention.head_count_kv", uint32_t(c.num_key_value_heads));
  w.add_uint32(p + "attention.key_length", uint32_t(c.head_dim));
  w.add_uint32(p + "attention.value_length", uint32_t(c.head_dim));
  w.add_uint32(p + "rope.dimension_count", uint32_t(c.head_dim));
  w.add_float32(p + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  w.add_float32(p + "rope.freq_base", c.rope_theta);
  w.add_uint32(p + "vocab_size", uint32_t(c.vocab_size));
  if (c.rope_scaling.type == RopeScaling::Type::kLinear) {
    w.add_string(p + "rope.scaling.type", "linear");
    w.add_float32(p + "rope.scaling.factor", c.rope_scaling.factor);
  }
  return Status::ok();
}

}  // namespace

Result<OutType> parse_out_type(const std::string& name) {
  if (name == "f32") return OutType::kF32;
  if (name == "f16") return OutType::kF16;
  if (name == "bf16") return OutType::kBF16;
  if (name == "q8_0") return OutType::kQ8_0;
  if (name == "q4_0") return OutType::kQ4_0;
  if (name == "q4_k_m") return OutType::kQ4_K_M;
  return invalid_argument("unknown GGUF type '" + name + "' (f32, f16, bf16, q8_0, q4_0, q4_k_m)");
}

Status convert_checkpoint_to_gguf(const std::string& hf_dir, const std::string& out_path,
                                  OutType type) {
  XY_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(hf_dir));
  std::string arch;
  switch (config.arch) {
    case Architecture::kLlama:
    case Architecture::kMistral:  // llama.cpp writes Mistral checkpoints as llama
      arch = "llama";
      break;
    case Architecture::kQwen2:
      arch = "qwen2";
      break;
    case Architecture::kQwen3:
      arch = "qwen3";
      break;
  }
  XY_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsArchive> archive,
                      SafetensorsArchive::open_dir(hf_dir));
  Writer w;
  XY_RETURN_IF_ERROR(add_config(w, config, arch, type, hf_dir));
  TokenizerFiles tok;
  XY_ASSIGN_OR_RETURN(tok.tokenizer_json, read_text(hf_dir + "/tokenizer.json", true));
  XY_ASSIGN_OR_RETURN(tok.tokenizer_config_json,
                      read_text(hf_dir + "/tokenizer_config.json", false));
  XY_RETURN_IF_ERROR(add_tokenizer_to_gguf(w, tok, config.vocab_size, hf_dir));

  for (const auto& [hf_name, t] : archive->tensors()) {
    std::string name = gguf_tensor_name(hf_name);
    if (name.empty()) continue;  // e.g. rotary inv_freq buffers
    if (name == "output.weight" && config.tie_word_embeddings) continue;
    if (t.shape.empty() || t.shape.size() > 2) {
      return format_error(hf_dir + ": tensor '" + hf_name + "' is not 1-D or 2-D");
    }
    const int64_t cols = t.shape.back();
    if (cols <= 0) return format_error(hf_dir + ": tensor '" + hf_name + "' is empty");
    const int64_t rows = t.numel() / cols;
    const bool is_vector = t.shape.size() == 1;
    const int permute_heads = permuted_heads(name, config);
    XY_RETURN_IF_ERROR(check_permuted_rows(name, is_vector ? cols : rows, config, hf_dir));
    const bool is_output =
        name == "output.weight" ||
        (config.tie_word_embeddings && name == "token_embd.weight" && type == OutType::kQ4_K_M);
    const BlockFormat f =
        is_vector ? BlockFormat::kF32
                  : matrix_format(type, cols, name, is_output, config.num_hidden_layers);
    const size_t out_row = ref::block_format_row_bytes(f, cols);
    std::vector<uint8_t> data(size_t(rows) * out_row);
    std::vector<float> row(static_cast<size_t>(cols));
    std::vector<float> permuted;
    const size_t in_row = size_t(cols) * dtype_size(t.dtype);
    for (int64_t r = 0; r < rows; ++r) {
      // GGUF row r holds HF row hf_row_of(r) for permuted matrices (a bias: element-wise).
      const int64_t src = permute_heads > 0 && !is_vector ? hf_row_of(r, config.head_dim) : r;
      convert_to_f32(t.dtype, static_cast<const char*>(t.data) + size_t(src) * in_row, row.data(),
                     size_t(cols));
      if (permute_heads > 0 && is_vector) {
        permuted.assign(row.size(), 0.0f);
        for (int64_t e = 0; e < cols; ++e)
          permuted[size_t(e)] = row[size_t(hf_row_of(e, config.head_dim))];
        row.swap(permuted);
      }
      encode_row(f, row.data(), data.data() + size_t(r) * out_row, cols);
    }
    std::vector<int64_t> dims(t.shape.rbegin(), t.shape.rend());
    w.add_tensor(name, dims, uint32_t(f), std::move(data));
  }
  return w.write(out_path);
}

}  // namespace xy::gguf
