#include "model/weights.h"

#include <cstdint>
#include <cstring>
#include <new>
#include <sstream>

namespace xy {

namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

// Looks tensors up by name and checks their shapes; remembers the checkpoint for messages.
class TensorReader {
 public:
  TensorReader(const SafetensorsArchive& archive, std::string source)
      : archive_(archive), source_(std::move(source)) {}

  Result<const TensorInfo*> get(const std::string& name, const std::vector<int64_t>& shape,
                                const char* shape_meaning) const {
    const TensorInfo* t = archive_.find(name);
    if (t == nullptr) return not_found(source_ + ": missing tensor '" + name + "'");
    if (t->shape != shape) {
      return format_error(t->file + ": tensor '" + name + "' has shape " + shape_string(t->shape) +
                          ", expected " + shape_string(shape) + " (" + shape_meaning +
                          " from config.json)");
    }
    return t;
  }

  Result<WeightMatrix> matrix(const std::string& name, int rows, int cols, const char* meaning,
                              const LoadOptions& options) const {
    XY_ASSIGN_OR_RETURN(const TensorInfo* t, get(name, {rows, cols}, meaning));
    WeightMatrix m;
    m.rows = rows;
    m.cols = cols;
    if (t->blocks) {  // the archive kept this matrix quantized because the loader asked for it
      m.blocks = t->blocks;
      m.dtype = DType::kBF16;
      m.data = t->data;
      return m;
    }
    m.dtype = options.weight_dtype.value_or(t->dtype);
    const bool aligned = reinterpret_cast<uintptr_t>(t->data) % dtype_size(t->dtype) == 0;
    if (m.dtype == t->dtype && aligned) {
      m.data = t->data;
      return m;
    }
    const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
    try {
      m.owned = AlignedBuffer(n * dtype_size(m.dtype));
      if (m.dtype == DType::kF32) {
        convert_to_f32(t->dtype, t->data, m.owned.as<float>(), n);
      } else {
        // Convert row by row through f32 (exact for bf16/f16 sources), keeping memory bounded.
        std::vector<float> row(static_cast<size_t>(cols));
        const size_t src_row = static_cast<size_t>(cols) * dtype_size(t->dtype);
        const size_t dst_row = static_cast<size_t>(cols) * dtype_size(m.dtype);
        for (int r = 0; r < rows; ++r) {
          convert_to_f32(t->dtype, static_cast<const char*>(t->data) + r * src_row, row.data(),
                         row.size());
          convert_from_f32(m.dtype, row.data(), m.owned.as<char>() + r * dst_row, row.size());
        }
      }
    } catch (const std::bad_alloc&) {
      return resource_exhausted(source_ + ": out of memory converting tensor '" + name + "' to " +
                                std::string(dtype_name(m.dtype)));
    }
    m.data = m.owned.data();
    return m;
  }

  Result<std::vector<float>> vector(const std::string& name, int size, const char* meaning) const {
    XY_ASSIGN_OR_RETURN(const TensorInfo* t, get(name, {size}, meaning));
    std::vector<float> v(static_cast<size_t>(size));
    convert_to_f32(t->dtype, t->data, v.data(), v.size());
    return v;
  }

 private:
  const SafetensorsArchive& archive_;
  std::string source_;
};

Result<LayerWeights> load_layer(const TensorReader& r, const ModelConfig& c, int index,
                                const LoadOptions& o) {
  const std::string p = "model.layers." + std::to_string(index) + ".";
  const int hidden = c.hidden_size, q = c.q_size(), kv = c.kv_size(), ffn = c.intermediate_size;
  LayerWeights w;
  XY_ASSIGN_OR_RETURN(w.q_proj, r.matrix(p + "self_attn.q_proj.weight", q, hidden,
                                         "[num_attention_heads*head_dim, hidden_size]", o));
  XY_ASSIGN_OR_RETURN(w.k_proj, r.matrix(p + "self_attn.k_proj.weight", kv, hidden,
                                         "[num_key_value_heads*head_dim, hidden_size]", o));
  XY_ASSIGN_OR_RETURN(w.v_proj, r.matrix(p + "self_attn.v_proj.weight", kv, hidden,
                                         "[num_key_value_heads*head_dim, hidden_size]", o));
  XY_ASSIGN_OR_RETURN(w.o_proj, r.matrix(p + "self_attn.o_proj.weight", hidden, q,
                                         "[hidden_size, num_attention_heads*head_dim]", o));
  if (c.attention_bias) {
    XY_ASSIGN_OR_RETURN(w.q_bias,
                        r.vector(p + "self_attn.q_proj.bias", q, "[num_attention_heads*head_dim]"));
    XY_ASSIGN_OR_RETURN(
        w.k_bias, r.vector(p + "self_attn.k_proj.bias", kv, "[num_key_value_heads*head_dim]"));
    XY_ASSIGN_OR_RETURN(
        w.v_bias, r.vector(p + "self_attn.v_proj.bias", kv, "[num_key_value_heads*head_dim]"));
  }
  if (c.o_proj_bias) {
    XY_ASSIGN_OR_RETURN(w.o_bias, r.vector(p + "self_attn.o_proj.bias", hidden, "[hidden_size]"));
  }
  if (c.qk_norm) {
    XY_ASSIGN_OR_RETURN(w.q_norm,
                        r.vector(p + "self_attn.q_norm.weight", c.head_dim, "[head_dim]"));
    XY_ASSIGN_OR_RETURN(w.k_norm,
                        r.vector(p + "self_attn.k_norm.weight", c.head_dim, "[head_dim]"));
  }
  XY_ASSIGN_OR_RETURN(w.gate_proj, r.matrix(p + "mlp.gate_proj.weight", ffn, hidden,
                                            "[intermediate_size, hidden_size]", o));
  XY_ASSIGN_OR_RETURN(w.up_proj, r.matrix(p + "mlp.up_proj.weight", ffn, hidden,
                                          "[intermediate_size, hidden_size]", o));
  XY_ASSIGN_OR_RETURN(w.down_proj, r.matrix(p + "mlp.down_proj.weight", hidden, ffn,
                                            "[hidden_size, intermediate_size]", o));
  if (c.mlp_bias) {
    XY_ASSIGN_OR_RETURN(w.gate_bias,
                        r.vector(p + "mlp.gate_proj.bias", ffn, "[intermediate_size]"));
    XY_ASSIGN_OR_RETURN(w.up_bias, r.vector(p + "mlp.up_proj.bias", ffn, "[intermediate_size]"));
    XY_ASSIGN_OR_RETURN(w.down_bias, r.vector(p + "mlp.down_proj.bias", hidden, "[hidden_size]"));
  }
  XY_ASSIGN_OR_RETURN(w.input_norm,
                      r.vector(p + "input_layernorm.weight", hidden, "[hidden_size]"));
  XY_ASSIGN_OR_RETURN(w.post_attention_norm,
                      r.vector(p + "post_attention_layernorm.weight", hidden, "[hidden_size]"));
  return w;
}

size_t vector_bytes(const std::vector<float>& v) {
  return v.size() * sizeof(float);
}

}  // namespace

Result<ModelWeights> ModelWeights::load(std::unique_ptr<SafetensorsArchive> archive,
                                        const ModelConfig& config, const LoadOptions& options,
                                        const std::string& source) {
  if (archive == nullptr) return invalid_argument(source + ": no checkpoint archive");
  const TensorReader r(*archive, source);
  ModelWeights w;
  XY_ASSIGN_OR_RETURN(w.embed_tokens_,
                      r.matrix("model.embed_tokens.weight", config.vocab_size, config.hidden_size,
                               "[vocab_size, hidden_size]", options));
  w.layers_.reserve(static_cast<size_t>(config.num_hidden_layers));
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    XY_ASSIGN_OR_RETURN(LayerWeights layer, load_layer(r, config, l, options));
    w.layers_.push_back(std::move(layer));
  }
  XY_ASSIGN_OR_RETURN(w.final_norm_,
                      r.vector("model.norm.weight", config.hidden_size, "[hidden_size]"));
  // Tied checkpoints may still carry a copy of lm_head.weight; like transformers, use the
  // embedding then.
  w.tied_ = config.tie_word_embeddings;
  if (!w.tied_) {
    XY_ASSIGN_OR_RETURN(w.lm_head_,
                        r.matrix("lm_head.weight", config.vocab_size, config.hidden_size,
                                 "[vocab_size, hidden_size]", options));
  }
  w.archive_ = std::move(archive);
  return w;
}

size_t ModelWeights::size_bytes() const {
  size_t n =
      embed_tokens_.size_bytes() + (tied_ ? 0 : lm_head_.size_bytes()) + vector_bytes(final_norm_);
  for (const LayerWeights& l : layers_) {
    for (const WeightMatrix* m :
         {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj}) {
      n += m->size_bytes();
    }
    for (const std::vector<float>* v :
         {&l.q_bias, &l.k_bias, &l.v_bias, &l.o_bias, &l.q_norm, &l.k_norm, &l.gate_bias,
          &l.up_bias, &l.down_bias, &l.input_norm, &l.post_attention_norm}) {
      n += vector_bytes(*v);
    }
  }
  return n;
}

Status ModelWeights::release_matrices(bool keep_embedding, DType embed_dtype) {
  if (keep_embedding && embed_tokens_.blocks) {
    // Quantized rows stay quantized (gathered by dequantizing); only the mapping goes.
    if (embed_tokens_.owned.empty()) {
      try {
        AlignedBuffer copy(embed_tokens_.size_bytes());
        std::memcpy(copy.data(), embed_tokens_.data, copy.size());
        embed_tokens_.owned = std::move(copy);
      } catch (const std::bad_alloc&) {
        return resource_exhausted("out of memory copying the token embedding");
      }
      embed_tokens_.data = embed_tokens_.owned.data();
    }
  } else if (keep_embedding &&
             (embed_tokens_.dtype != embed_dtype || embed_tokens_.owned.empty())) {
    const size_t n = static_cast<size_t>(embed_tokens_.rows) * embed_tokens_.cols;
    WeightMatrix copy;
    copy.rows = embed_tokens_.rows;
    copy.cols = embed_tokens_.cols;
    copy.dtype = embed_dtype;
    try {
      copy.owned = AlignedBuffer(n * dtype_size(embed_dtype));
      // Row by row through f32 (exact for every supported source), keeping memory bounded.
      std::vector<float> row(static_cast<size_t>(copy.cols));
      const size_t src_row = static_cast<size_t>(copy.cols) * dtype_size(embed_tokens_.dtype);
      const size_t dst_row = static_cast<size_t>(copy.cols) * dtype_size(embed_dtype);
      for (int r = 0; r < copy.rows; ++r) {
        convert_to_f32(embed_tokens_.dtype,
                       static_cast<const char*>(embed_tokens_.data) + r * src_row, row.data(),
                       row.size());
        convert_from_f32(embed_dtype, row.data(), copy.owned.as<char>() + r * dst_row, row.size());
      }
    } catch (const std::bad_alloc&) {
      return resource_exhausted("out of memory copying the token embedding");
    }
    copy.data = copy.owned.data();
    embed_tokens_ = std::move(copy);
  } else if (!keep_embedding) {
    embed_tokens_ = WeightMatrix{};
  }
  lm_head_ = WeightMatrix{};
  for (LayerWeights& l : layers_) {
    for (WeightMatrix* m :
         {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj}) {
      *m = WeightMatrix{};
    }
  }
  archive_.reset();
  released_ = true;
  return Status::ok();
}

}  // namespace xy
