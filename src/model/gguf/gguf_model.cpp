#include "model/gguf/gguf_model.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>

#include "core/aligned_buffer.h"
#include "core/mapped_file.h"
#include "kernels/reference/quant_blocks.h"
#include "model/gguf/gguf_names.h"

namespace xy::gguf {
namespace {

using ref::BlockFormat;

Result<int> positive_int(const File& f, const std::string& key, const std::string& source) {
  Result<int64_t> v = f.get_int(key);
  if (!v.is_ok()) return Status(v.status().code(), source + ": " + v.status().message());
  if (*v <= 0 || *v > std::numeric_limits<int>::max()) {
    return format_error(source + ": GGUF metadata '" + key + "' must be a positive int, got " +
                        std::to_string(*v));
  }
  return int(*v);
}

Result<int> optional_int(const File& f, const std::string& key, int fallback,
                         const std::string& source) {
  if (!f.find(key)) return fallback;
  return positive_int(f, key, source);
}

Result<float> optional_float(const File& f, const std::string& key, float fallback,
                             const std::string& source) {
  if (!f.find(key)) return fallback;
  Result<double> v = f.get_float(key);
  if (!v.is_ok()) return Status(v.status().code(), source + ": " + v.status().message());
  return float(*v);
}

class GgufArchive : public SafetensorsArchive {
 public:
  const xy::TensorInfo* find(const std::string& name) const override {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, xy::TensorInfo>& tensors() const override { return tensors_; }

  std::unique_ptr<MappedFile> mapping;  // null when the caller keeps the bytes alive
  std::map<std::string, xy::TensorInfo> tensors_;
  std::vector<AlignedBuffer> owned;
};

Status add_tensor(GgufArchive& a, const gguf::TensorInfo& t, const ModelConfig& config,
                  DType dequant_dtype, bool keep_blocks, const std::string& source) {
  const std::string name = hf_tensor_name(t.name);
  if (name.empty()) return Status::ok();
  const ref::BlockFormatInfo* format = ref::block_format_info(t.ggml_type);
  if (!format->dequantizable) {
    return unsupported(source + ": tensor '" + t.name + "' has type " + std::string(format->name) +
                       ", which xyserve cannot read yet (supported: F32, F16, BF16, Q8_0, Q4_0, "
                       "Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)");
  }
  if (t.dims.size() > 2) {
    return format_error(source + ": tensor '" + t.name + "' has " + std::to_string(t.dims.size()) +
                        " dimensions, expected 1 or 2");
  }
  xy::TensorInfo info;
  info.name = name;
  info.file = source;
  for (auto it = t.dims.rbegin(); it != t.dims.rend(); ++it) info.shape.push_back(*it);
  const int64_t cols = t.dims[0];
  const int64_t rows = t.num_elements() / cols;

  // llama's q and k (weights and biases) come permuted; Qwen's are stored as HF has them. A 1-D
  // bias is permuted element by element: rows of one element.
  const int permute_heads = permuted_heads(t.name, config);
  const bool is_vector = t.dims.size() == 1;
  XY_RETURN_IF_ERROR(check_permuted_rows(t.name, is_vector ? cols : rows, config, source));
  const bool plain = t.ggml_type == uint32_t(BlockFormat::kF32) ||
                     t.ggml_type == uint32_t(BlockFormat::kF16) ||
                     t.ggml_type == uint32_t(BlockFormat::kBF16);
  const DType stored = t.ggml_type == uint32_t(BlockFormat::kF32)   ? DType::kF32
                       : t.ggml_type == uint32_t(BlockFormat::kF16) ? DType::kF16
                                                                    : DType::kBF16;
  if (plain && permute_heads == 0) {
    info.dtype = stored;
    info.data = t.data;
    info.num_bytes = t.size;
    a.tensors_.emplace(name, std::move(info));
    return Status::ok();
  }
  if (keep_blocks && !plain && !is_vector) {
    // Quantized matrices stay in their blocks; llama's q/k rows are put back in HF order by
    // moving whole block rows (a row's blocks never mix rows).
    info.blocks = BlockFormat(t.ggml_type);
    info.dtype = DType::kBF16;
    info.num_bytes = t.size;
    if (permute_heads == 0) {
      info.data = t.data;
    } else {
      const size_t row_bytes = ref::block_format_row_bytes(BlockFormat(t.ggml_type), cols);
      AlignedBuffer buf(size_t(rows) * row_bytes);
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(buf.as<uint8_t>() + size_t(hf_row_of(r, config.head_dim)) * row_bytes,
                    t.data + size_t(r) * row_bytes, row_bytes);
      }
      info.data = buf.data();
      a.owned.push_back(std::move(buf));
    }
    a.tensors_.emplace(name, std::move(info));
    return Status::ok();
  }
  // Dequantize (or, for plain types, copy to permute: keeping their dtype, so a F16 file's q/k
  // pack like its other matrices) row by row through f32, which holds every source exactly.
  const DType out = plain ? stored : (is_vector ? DType::kF32 : dequant_dtype);
  const size_t out_row_bytes = size_t(cols) * dtype_size(out);
  AlignedBuffer buf(size_t(rows) * out_row_bytes);
  std::vector<float> row(static_cast<size_t>(cols));
  const size_t in_row_bytes = ref::block_format_row_bytes(BlockFormat(t.ggml_type), cols);
  for (int64_t r = 0; r < rows; ++r) {
    ref::dequantize_row(BlockFormat(t.ggml_type), t.data + size_t(r) * in_row_bytes, row.data(),
                        cols);
    if (is_vector && permute_heads > 0) {
      std::vector<float> permuted(row.size());
      for (int64_t e = 0; e < cols; ++e)
        permuted[size_t(hf_row_of(e, config.head_dim))] = row[size_t(e)];
      row.swap(permuted);
    }
    const int64_t dst = permute_heads > 0 && !is_vector ? hf_row_of(r, config.head_dim) : r;
    convert_from_f32(out, row.data(), static_cast<char*>(buf.data()) + size_t(dst) * out_row_bytes,
                     size_t(cols));
  }
  info.dtype = out;
  info.data = buf.data();
  info.num_bytes = buf.size();
  a.owned.push_back(std::move(buf));
  a.tensors_.emplace(name, std::move(info));
  return Status::ok();
}

}  // namespace

Result<ModelConfig> model_config_from_gguf(const File& f, const std::string& source) {
  Result<std::string> arch_r = f.get_string("general.architecture");
  if (!arch_r.is_ok())
    return Status(arch_r.status().code(), source + ": " + arch_r.status().message());
  const std::string arch = *arch_r;
  ModelConfig c;
  if (arch == "llama") {
    c.arch = Architecture::kLlama;
    c.architecture_name = "LlamaForCausalLM";
  } else if (arch == "qwen2") {
    c.arch = Architecture::kQwen2;
    c.architecture_name = "Qwen2ForCausalLM";
  } else if (arch == "qwen3") {
    c.arch = Architecture::kQwen3;
    c.architecture_name = "Qwen3ForCausalLM";
  } else {
    return unsupported(source + ": GGUF architecture '" + arch +
                       "' is not supported (llama, qwen2, qwen3 are)");
  }
  const std::string p = arch + ".";
  XY_ASSIGN_OR_RETURN(c.hidden_size, positive_int(f, p + "embedding_length", source));
  XY_ASSIGN_OR_RETURN(c.num_hidden_layers, positive_int(f, p + "block_count", source));
  XY_ASSIGN_OR_RETURN(c.intermediate_size, positive_int(f, p + "feed_forward_length", source));
  XY_ASSIGN_OR_RETURN(c.num_attention_heads, positive_int(f, p + "attention.head_count", source));
  XY_ASSIGN_OR_RETURN(c.num_key_value_heads, optional_int(f, p + "attention.head_count_kv",
                                                          c.num_attention_heads, source));
  XY_ASSIGN_OR_RETURN(c.max_position_embeddings, positive_int(f, p + "context_length", source));
  XY_ASSIGN_OR_RETURN(c.head_dim, optional_int(f, p + "attention.key_length",
                                               c.hidden_size / c.num_attention_heads, source));
  XY_ASSIGN_OR_RETURN(int value_length,
                      optional_int(f, p + "attention.value_length", c.head_dim, source));
  if (value_length != c.head_dim) {
    return unsupported(source + ": attention.key_length " + std::to_string(c.head_dim) +
                       " differs from value_length " + std::to_string(value_length));
  }
  XY_ASSIGN_OR_RETURN(int rope_dims,
                      optional_int(f, p + "rope.dimension_count", c.head_dim, source));
  if (rope_dims != c.head_dim) {
    return unsupported(source + ": partial rotary embeddings (rope.dimension_count " +
                       std::to_string(rope_dims) + " of head_dim " + std::to_string(c.head_dim) +
                       ")");
  }
  XY_ASSIGN_OR_RETURN(c.rms_norm_eps,
                      optional_float(f, p + "attention.layer_norm_rms_epsilon", 1e-6f, source));
  XY_ASSIGN_OR_RETURN(c.rope_theta, optional_float(f, p + "rope.freq_base", 10000.0f, source));
  if (const Value* type = f.find(p + "rope.scaling.type")) {
    const std::string t = type->type == ValueType::kString ? type->s : "?";
    if (t == "linear") {
      c.rope_scaling.type = RopeScaling::Type::kLinear;
      XY_ASSIGN_OR_RETURN(c.rope_scaling.factor,
                          optional_float(f, p + "rope.scaling.factor", 1.0f, source));
    } else if (t != "none") {
      return unsupported(source + ": rope scaling type '" + t +
                         "' (none and linear are supported)");
    }
  }
  if (const gguf::TensorInfo* freqs = f.find_tensor("rope_freqs.weight")) {
    // llama-3.1+ rope scaling: one divisor per frequency (head_dim / 2 of them, f32).
    if (freqs->ggml_type != uint32_t(BlockFormat::kF32) || freqs->dims.size() != 1 ||
        freqs->dims[0] != c.head_dim / 2) {
      return format_error(source + ": tensor 'rope_freqs.weight' must be F32 [" +
                          std::to_string(c.head_dim / 2) + "] (head_dim / 2)");
    }
    c.rope_freq_factors.resize(size_t(c.head_dim / 2));
    std::memcpy(c.rope_freq_factors.data(), freqs->data, c.rope_freq_factors.size() * 4);
    for (float v : c.rope_freq_factors) {
      if (!(v > 0.0f) || !std::isfinite(v)) {
        return format_error(source +
                            ": tensor 'rope_freqs.weight' holds a factor that is not a "
                            "positive finite number");
      }
    }
  }
  // The embedding's rows are the vocabulary (a token list can be shorter, never longer).
  const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
  if (!embd) return not_found(source + ": tensor 'token_embd.weight' is missing");
  if (embd->dims.size() != 2 || embd->dims[1] > std::numeric_limits<int>::max()) {
    return format_error(source + ": tensor 'token_embd.weight' must be 2-D [hidden, vocab]");
  }
  c.vocab_size = int(embd->dims[1]);
  c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  c.attention_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.o_proj_bias = f.find_tensor("blk.0.attn_output.bias") != nullptr;
  c.mlp_bias = f.find_tensor("blk.0.ffn_down.bias") != nullptr;
  c.qk_norm = f.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  if (c.arch == Architecture::kQwen3 && !c.qk_norm) {
    return format_error(source + ": a qwen3 file without blk.0.attn_q_norm.weight");
  }
  c.torch_dtype = embd->ggml_type == uint32_t(BlockFormat::kF32)   ? DType::kF32
                  : embd->ggml_type == uint32_t(BlockFormat::kF16) ? DType::kF16
                                                                   : DType::kBF16;
  if (Result<int64_t> bos = f.get_int("tokenizer.ggml.bos_token_id"); bos.is_ok()) {
    c.bos_token_ids.push_back(int(*bos));
  }
  // End of generation: EOS, and the end-of-turn / end-of-message tokens chat models stop at
  // (Llama 3's <|eot_id|>; a GGUF file has no generation_config.json to list them).
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                          "tokenizer.ggml.eom_token_id"}) {
    if (Result<int64_t> id = f.get_int(key); id.is_ok() && *id >= 0 && *id < c.vocab_size) {
      c.eos_token_ids.push_back(int(*id));
    }
  }
  return c;
}

Result<std::unique_ptr<SafetensorsArchive>> gguf_archive(const File& file,
                                                         const ModelConfig& config,
                                                         DType dequant_dtype, bool keep_blocks,
                                                         const std::string& source) {
  auto a = std::make_unique<GgufArchive>();
  for (const gguf::TensorInfo& t : file.tensors) {
    try {
      XY_RETURN_IF_ERROR(add_tensor(*a, t, config, dequant_dtype, keep_blocks, source));
    } catch (const std::bad_alloc&) {
      return resource_exhausted(source + ": out of memory dequantizing tensor '" + t.name + "'");
    }
  }
  return std::unique_ptr<SafetensorsArchive>(std::move(a));
}

Result<GgufModel> open_gguf_model(const std::string& path, DType dequant_dtype, bool keep_blocks) {
  XY_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> map, MappedFile::open(path));
  GgufModel m;
  XY_ASSIGN_OR_RETURN(m.file, parse_file(map->data(), map->size(), path));
  XY_ASSIGN_OR_RETURN(m.config, model_config_from_gguf(m.file, path));
  XY_ASSIGN_OR_RETURN(m.archive, gguf_archive(m.file, m.config, dequant_dtype, keep_blocks, path));
  static_cast<GgufArchive&>(*m.archive).mapping = std::move(map);
  return m;
}

std::string dominant_tensor_type(const File& file) {
  std::map<uint32_t, uint64_t> bytes;
  for (const gguf::TensorInfo& t : file.tensors)
    if (t.dims.size() == 2) bytes[t.ggml_type] += t.size;
  uint32_t best = 0;
  uint64_t most = 0;
  for (const auto& [type, n] : bytes) {
    if (n > most) {
      most = n;
      best = type;
    }
  }
  if (most == 0) return "";
  return std::string(ref::block_format_info(best)->name);
}

bool find_gguf(const std::string& path, std::string* gguf_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    if (fs::path(path).extension() != ".gguf") return false;
    *gguf_path = path;
    return true;
  }
  if (!fs::is_directory(path, ec) || fs::exists(fs::path(path) / "config.json", ec)) return false;
  std::string found;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.path().extension() != ".gguf") continue;
    if (!found.empty()) return false;  // ambiguous: let the caller's error name the directory
    found = entry.path().string();
  }
  if (found.empty()) return false;
  *gguf_path = found;
  return true;
}

}  // namespace xy::gguf
