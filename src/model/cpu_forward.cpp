// KernelSet::kCpu: the forward pass on the CPU meta-kernels. Weights are packed once, here, into
// SmoothGEMM panels: QKV as one fused GEMM (biases concatenated), gate/up as one GEMM whose
// epilogue applies SiLU(gate)·up, o_proj and down_proj with the residual add fused into their
// epilogue (in place on the residual stream), lm_head on the logit rows only. Norms, RoPE + KV
// write and the embedding gather are the vectorized kernels of kernels/cpu; attention is the
// meta-attention kernel, planned once per step and run by every layer. Everything runs on one
// WorkerPool owned by the backend.
//
// Batch invariance: every kernel computes a token's row with arithmetic that depends neither on
// the other rows of the step nor on the number of workers (SmoothGEMM: one FMA chain per output;
// norms / RoPE: per-row; meta-attention: fixed KV chunks merged in order), so a sequence's
// logits are bitwise the same alone or in any mixed step, however its prompt is chunked.
#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "core/check.h"
#include "kernels/cpu/attention_plan.h"
#include "kernels/cpu/embedding_cpu.h"
#include "kernels/cpu/gemm_tune_table.h"
#include "kernels/cpu/meta_attention.h"
#include "kernels/cpu/packed_weight.h"
#include "kernels/cpu/quant_gemm.h"
#include "kernels/cpu/rms_norm_cpu.h"
#include "kernels/cpu/rope_kv_cpu.h"
#include "kernels/cpu/smooth_gemm.h"
#include "kernels/reference/rope.h"
#include "model/forward_backend.h"

namespace xy {

namespace {

// A linear layer's weight in the form its GEMM streams: SmoothGEMM panels (f32/bf16), or
// QuantGEMM panels when any of its source matrices is a quantized GGUF matrix.
struct Linear {
  cpu::PackedWeight dense;
  cpu::QuantWeight quant;
  bool quantized() const { return !quant.empty(); }
};

struct PackedLayer {
  Linear qkv;                       // [q_size + 2 kv_size, hidden] q, k, v rows
  Linear o;                         // [hidden, q_size]
  Linear gate_up;                   // [2 intermediate, hidden] gate rows then up rows (kGateUp)
  Linear down;                      // [hidden, intermediate]
  std::vector<float> qkv_bias;      // [q_size + 2 kv_size] or empty
  std::vector<float> gate_up_bias;  // [2 intermediate] or empty
};

DType panel_dtype(const CpuBackendOptions& o, DType loaded) {
  return o.storage.value_or(loaded) == DType::kBF16 ? DType::kBF16 : DType::kF32;
}

// SmoothGEMM panels of the parts stacked: a single part is packed in place; several are first
// copied into one temporary [rows, k] matrix (in their common dtype, or f32 when they differ),
// which is freed before returning.
Result<cpu::PackedWeight> pack_dense(std::initializer_list<const WeightMatrix*> parts,
                                     const CpuBackendOptions& options, cpu::WeightLayout layout,
                                     const std::string& name) {
  const WeightMatrix& first = **parts.begin();
  const DType storage = panel_dtype(options, first.dtype);
  if (parts.size() == 1) {
    return cpu::PackedWeight::pack(first.data, first.dtype, first.rows, first.cols, storage, layout,
                                   name);
  }
  int rows = 0;
  bool same_dtype = true;
  for (const WeightMatrix* m : parts) {
    rows += m->rows;
    same_dtype = same_dtype && m->dtype == first.dtype;
  }
  const DType dtype = same_dtype ? first.dtype : DType::kF32;
  const size_t row_bytes = static_cast<size_t>(first.cols) * dtype_size(dtype);
  std::vector<char> joined;
  try {
    joined.resize(static_cast<size_t>(rows) * row_bytes);
  } catch (const std::bad_alloc&) {
    return resource_exhausted(name + ": out of memory joining weights for packing");
  }
  size_t at = 0;
  for (const WeightMatrix* m : parts) {
    if (m->dtype == dtype) {
      std::memcpy(joined.data() + at, m->data, static_cast<size_t>(m->rows) * row_bytes);
    } else {
      convert_to_f32(m->dtype, m->data, reinterpret_cast<float*>(joined.data() + at),
                     static_cast<size_t>(m->rows) * m->cols);
    }
    at += static_cast<size_t>(m->rows) * row_bytes;
  }
  return cpu::PackedWeight::pack(joined.data(), dtype, rows, first.cols, storage, layout, name);
}

ref::BlockFormat block_format_of(const WeightMatrix& m) {
  if (m.blocks) return *m.blocks;
  return m.dtype == DType::kF32   ? ref::BlockFormat::kF32
         : m.dtype == DType::kF16 ? ref::BlockFormat::kF16
                                  : ref::BlockFormat::kBF16;
}

// Packs the row-wise concatenation of `parts` (same column count) as one weight: QuantGEMM panels
// when any part is quantized (plain parts are then requantized to 8 bits, see quant_weight.h),
// else SmoothGEMM panels.
Result<Linear> pack_rows(std::initializer_list<const WeightMatrix*> parts,
                         const CpuBackendOptions& options, cpu::WeightLayout layout,
                         const std::string& name) {
  const WeightMatrix& first = **parts.begin();
  Linear out;
  if (std::any_of(parts.begin(), parts.end(), [](const WeightMatrix* m) { return m->blocks; })) {
    std::vector<cpu::QuantSource> sources;
    for (const WeightMatrix* m : parts) sources.push_back({m->data, block_format_of(*m), m->rows});
    XY_ASSIGN_OR_RETURN(out.quant, cpu::QuantWeight::pack(sources, first.cols, layout, name));
    return out;
  }
  XY_ASSIGN_OR_RETURN(out.dense, pack_dense(parts, options, layout, name));
  return out;
}

std::vector<float> concat(std::initializer_list<const std::vector<float>*> parts) {
  std::vector<float> out;
  for (const std::vector<float>* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

const float* or_null(const std::vector<float>& v) {
  return v.empty() ? nullptr : v.data();
}

// The arithmetic LoadOptions::gemm_isa and compute_dtype ask for on these weights: the SmoothGEMM
// path, and the panel dtype (bf16 compute packs bf16 panels whatever the checkpoint stores).
struct Arithmetic {
  cpu::GemmIsa isa;
  std::optional<DType> storage;  // CpuBackendOptions::storage
};

Result<Arithmetic> resolve_arithmetic(const ModelWeights& weights,
                                      const CpuBackendOptions& options) {
  Arithmetic out{cpu::default_gemm_isa(), options.storage};
  if (options.compute_dtype == ComputeDtype::kBf16) {
    if (options.storage && *options.storage != DType::kBF16)
      return invalid_argument("--compute-dtype bf16 needs bf16 weights in memory, not --dtype " +
                              std::string(dtype_name(*options.storage)));
    out.storage = DType::kBF16;
  }
  const bool bf16_cpu = cpu::gemm_isa_supported(cpu::GemmIsa::kAvx512Bf16);
  if (!options.gemm_isa.empty()) {
    const std::optional<cpu::GemmIsa> isa = cpu::gemm_isa_from_name(options.gemm_isa);
    if (!isa) {
      return invalid_argument("--gemm-isa: unknown SmoothGEMM ISA '" + options.gemm_isa +
                              "' (use scalar, avx2, avx512 or avx512bf16)");
    }
    if (!cpu::gemm_isa_supported(*isa)) {
      return invalid_argument("--gemm-isa: this CPU cannot run the " + options.gemm_isa +
                              " kernels");
    }
    const bool bf16_isa = *isa == cpu::GemmIsa::kAvx512Bf16;
    if ((options.compute_dtype == ComputeDtype::kBf16 && !bf16_isa) ||
        (options.compute_dtype == ComputeDtype::kF32 && bf16_isa)) {
      return invalid_argument("--gemm-isa " + options.gemm_isa + " computes in " +
                              (bf16_isa ? "bf16" : "f32") + ", not the --compute-dtype asked for");
    }
    out.isa = *isa;
  } else if (options.compute_dtype == ComputeDtype::kBf16) {
    if (!bf16_cpu) {
      return invalid_argument(
          "--compute-dtype bf16 needs AVX-512 BF16 (vdpbf16ps), which this CPU lacks; use f32 or "
          "auto");
    }
    out.isa = cpu::GemmIsa::kAvx512Bf16;
  } else if (options.compute_dtype == ComputeDtype::kAuto && bf16_cpu &&
             !weights.layers().empty() && !weights.layers()[0].q_proj.blocks &&
             panel_dtype(options, weights.layers()[0].q_proj.dtype) == DType::kBF16) {
    // The checkpoint's dtype: what the projections are packed as (quantized GGUF matrices keep
    // their own int8 path and count as not bf16).
    out.isa = cpu::GemmIsa::kAvx512Bf16;
  } else if (options.compute_dtype == ComputeDtype::kF32 && out.isa == cpu::GemmIsa::kAvx512Bf16) {
    // XY_GEMM_ISA may name the bf16 path; an explicit request for f32 wins over it.
    out.isa = cpu::best_gemm_isa();
  }
  return out;
}

class CpuBackend final : public ForwardBackend {
 public:
  CpuBackend(const ModelConfig& config, const ModelWeights& weights,
             std::shared_ptr<WorkerPool> pool, std::shared_ptr<const cpu::GemmTuneTable> tune,
             cpu::GemmIsa gemm_isa)
      : config_(config),
        weights_(weights),
        pool_(std::move(pool)),
        tune_(std::move(tune)),
        gemm_isa_(gemm_isa),
        quant_isa_(cpu::quant_gemm_isa_for(gemm_isa)),
        rope_inv_freq_(rope_inv_freq_for(config)) {}

  Status pack(ModelWeights& w, const CpuBackendOptions& options) {
    if (w.matrices_released()) {
      return invalid_argument("cpu backend: the model's weight matrices were already released");
    }
    const int n_layers = config_.num_hidden_layers;
    layers_.resize(static_cast<size_t>(n_layers));
    // Layers are independent: pack them on the pool (packing a 1B model is seconds of strided
    // stores on one core).
    std::vector<Status> status(static_cast<size_t>(n_layers));
    const int workers = std::min(pool_->num_workers(), n_layers);
    pool_->run(workers, [&](int worker) {
      for (int l = worker; l < n_layers; l += workers) {
        status[static_cast<size_t>(l)] = pack_layer(w.layers()[static_cast<size_t>(l)], l, options,
                                                    layers_[static_cast<size_t>(l)]);
      }
    });
    for (const Status& st : status) XY_RETURN_IF_ERROR(st);
    const WeightMatrix& head = w.lm_head();
    XY_ASSIGN_OR_RETURN(lm_head_,
                        pack_rows({&head}, options, cpu::WeightLayout::kPlain, "lm_head"));
    // Tied embeddings are gathered from lm_head's SmoothGEMM panels; otherwise the embedding
    // stays as a row-major copy in the panel dtype (the values the reference path would use), or
    // as its GGUF blocks (gathered by dequantizing: the file's values).
    gather_from_head_ = config_.tie_word_embeddings && !lm_head_.quantized();
    // Attention computes in the GEMMs' dtype: vdpbf16ps on the bf16 KV cache in bf16 mode, and
    // for quantized projections unless f32 was asked for (XY_ATTENTION_ISA overrides, for A/B
    // runs). Their GEMMs already round every activation to int8 per 32; rounding q and the
    // probabilities to bf16 is an error of the same kind (llama.cpp rounds q to the KV cache's
    // f16), and it halves attention's share of a quantized prompt step.
    const bool quantized = layers_.front().qkv.quantized();
    const bool bf16_attention =
        compute_dtype() == ComputeDtype::kBf16 ||
        (quantized && options.compute_dtype.value_or(ComputeDtype::kF32) != ComputeDtype::kF32);
    attention_isa_ = cpu::attention_isa_override().value_or(
        bf16_attention && cpu::attention_isa_supported(cpu::AttentionIsa::kAvx512Bf16)
            ? cpu::AttentionIsa::kAvx512Bf16
            : cpu::best_attention_isa());
    return w.release_matrices(/*keep_embedding=*/!gather_from_head_,
                              panel_dtype(options, w.embed_tokens().dtype));
  }

  KernelSet kernels() const override { return KernelSet::kCpu; }
  int num_threads() const override { return pool_->num_workers(); }
  ComputeDtype compute_dtype() const override {
    // bf16 dot products run on bf16 panels only (f32 panels keep f32 tiles on that path).
    const Linear& qkv = layers_.front().qkv;
    const bool bf16_panels = !qkv.quantized() && qkv.dense.storage() == DType::kBF16;
    return gemm_isa_ == cpu::GemmIsa::kAvx512Bf16 && bf16_panels ? ComputeDtype::kBf16
                                                                 : ComputeDtype::kF32;
  }
  std::shared_ptr<WorkerPool> worker_pool() const override { return pool_; }

  void forward(const TokenTable& table, KvCache& cache, float* logits,
               ForwardScratch& s) const override {
    WorkerPool& pool = *pool_;
    const ModelConfig& c = config_;
    const int n = table.num_tokens();
    const int hidden = c.hidden_size;
    s.hidden.resize(static_cast<size_t>(n) * hidden);
    if (gather_from_head_) {
      cpu::embedding_from_packed(lm_head_.dense, table.token_ids.data(), n, s.hidden.data(), pool);
    } else if (const WeightMatrix& e = weights_.embed_tokens(); e.blocks) {
      cpu::embedding_blocks(e.data, *e.blocks, e.rows, hidden, table.token_ids.data(), n,
                            s.hidden.data(), pool);
    } else {
      cpu::embedding(e.data, e.dtype, e.rows, hidden, table.token_ids.data(), n, s.hidden.data(),
                     pool);
    }
    const int half = c.head_dim / 2;
    s.rope_cos.resize(static_cast<size_t>(n) * half);
    s.rope_sin.resize(s.rope_cos.size());
    ref::rope_cos_sin(table.positions.data(), n, rope_inv_freq_.data(), half, s.rope_cos.data(),
                      s.rope_sin.data());
    s.normed.resize(static_cast<size_t>(n) * hidden);
    s.qkv.resize(static_cast<size_t>(n) * (c.q_size() + 2 * c.kv_size()));
    s.q.resize(static_cast<size_t>(n) * c.q_size());
    s.attn.resize(s.q.size());
    s.gate.resize(static_cast<size_t>(n) * c.intermediate_size);

    // The attention Task-Table, once per step, reused by every layer.
    const cpu::AttentionShape shape{c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                                    cache.block_size(), c.sliding_window.value_or(0)};
    const cpu::AttentionPlan plan = cpu::plan_attention(table, shape, pool.num_workers());

    for (int l = 0; l < c.num_hidden_layers; ++l) run_layer(l, table, plan, cache, s);

    const int rows = static_cast<int>(table.logit_rows.size());
    if (rows == 0) return;
    s.logit_hidden.resize(static_cast<size_t>(rows) * hidden);
    for (int r = 0; r < rows; ++r) {
      std::memcpy(s.logit_hidden.data() + static_cast<size_t>(r) * hidden,
                  s.hidden.data() + static_cast<size_t>(table.logit_rows[r]) * hidden,
                  sizeof(float) * hidden);
    }
    cpu::rms_norm(s.logit_hidden.data(), 0, weights_.final_norm().data(), s.logit_hidden.data(), 0,
                  rows, hidden, c.rms_norm_eps, pool);
    gemm(lm_head_, {.m = rows, .x = s.logit_hidden.data(), .y = logits});
  }

 private:
  Status pack_layer(const LayerWeights& w, int l, const CpuBackendOptions& o,
                    PackedLayer& out) const {
    try {
      const std::string p = "layer " + std::to_string(l) + " ";
      XY_ASSIGN_OR_RETURN(out.qkv, (pack_rows({&w.q_proj, &w.k_proj, &w.v_proj}, o,
                                              cpu::WeightLayout::kPlain, p + "qkv_proj")));
      XY_ASSIGN_OR_RETURN(out.o,
                          pack_rows({&w.o_proj}, o, cpu::WeightLayout::kPlain, p + "o_proj"));
      XY_ASSIGN_OR_RETURN(out.gate_up, (pack_rows({&w.gate_proj, &w.up_proj}, o,
                                                  cpu::WeightLayout::kGateUp, p + "gate_up_proj")));
      XY_ASSIGN_OR_RETURN(out.down,
                          pack_rows({&w.down_proj}, o, cpu::WeightLayout::kPlain, p + "down_proj"));
      if (!w.q_bias.empty()) out.qkv_bias = concat({&w.q_bias, &w.k_bias, &w.v_bias});
      if (!w.gate_bias.empty()) out.gate_up_bias = concat({&w.gate_bias, &w.up_bias});
    } catch (const std::bad_alloc&) {  // the pool's row function must not throw
      return resource_exhausted("out of memory packing layer " + std::to_string(l));
    }
    return Status::ok();
  }

  void gemm(const Linear& w, const cpu::GemmArgs& args) const {
    if (w.quantized()) {
      cpu::quant_gemm(w.quant, args, *pool_, quant_isa_);
    } else {
      cpu::smooth_gemm(w.dense, args, *pool_, tune_.get(), gemm_isa_);
    }
  }

  void run_layer(int l, const TokenTable& table, const cpu::AttentionPlan& plan, KvCache& cache,
                 ForwardScratch& s) const {
    const LayerWeights& w = weights_.layers()[static_cast<size_t>(l)];
    const PackedLayer& p = layers_[static_cast<size_t>(l)];
    const ModelConfig& c = config_;
    WorkerPool& pool = *pool_;
    const int n = table.num_tokens();
    const float eps = c.rms_norm_eps;

    // Attention block: norm → fused QKV → (q/k norm) RoPE + KV write → attention → o_proj with
    // the residual added in place.
    cpu::rms_norm(s.hidden.data(), 0, w.input_norm.data(), s.normed.data(), 0, n, c.hidden_size,
                  eps, pool);
    gemm(p.qkv, {.m = n, .x = s.normed.data(), .y = s.qkv.data(), .bias = or_null(p.qkv_bias)});
    const ref::PagedKvLayer kv = cache.layer(l);
    cpu::RopeKvArgs r;
    r.n_tokens = n;
    r.n_heads = c.num_attention_heads;
    r.n_kv_heads = c.num_key_value_heads;
    r.head_dim = c.head_dim;
    r.qkv = s.qkv.data();
    r.q_norm = c.qk_norm ? w.q_norm.data() : nullptr;
    r.k_norm = c.qk_norm ? w.k_norm.data() : nullptr;
    r.norm_eps = eps;
    r.cos = s.rope_cos.data();
    r.sin = s.rope_sin.data();
    r.slot_mapping = table.slot_mapping.data();
    r.q_out = s.q.data();
    cpu::rope_qk_write_kv(r, kv, pool);
    cpu::run_attention_with(plan, table, s.q.data(), kv, s.attn.data(), pool, s.attention,
                            attention_isa_);
    gemm(p.o, {.m = n,
               .x = s.attn.data(),
               .y = s.hidden.data(),
               .bias = or_null(w.o_bias),
               .residual = s.hidden.data()});

    // MLP block: norm → gate/up with the SiLU·up epilogue → down_proj with the residual.
    cpu::rms_norm(s.hidden.data(), 0, w.post_attention_norm.data(), s.normed.data(), 0, n,
                  c.hidden_size, eps, pool);
    gemm(p.gate_up,
         {.m = n, .x = s.normed.data(), .y = s.gate.data(), .bias = or_null(p.gate_up_bias)});
    gemm(p.down, {.m = n,
                  .x = s.gate.data(),
                  .y = s.hidden.data(),
                  .bias = or_null(w.down_bias),
                  .residual = s.hidden.data()});
  }

  const ModelConfig& config_;
  const ModelWeights& weights_;       // norms, biases, and the untied embedding
  std::shared_ptr<WorkerPool> pool_;  // a pointer: forward() is const but runs regions
  std::shared_ptr<const cpu::GemmTuneTable> tune_;
  cpu::GemmIsa gemm_isa_;
  cpu::AttentionIsa attention_isa_ = cpu::best_attention_isa();  // set by pack()
  cpu::QuantGemmIsa quant_isa_;       // for quantized weights: the ISA that goes with gemm_isa_
  std::vector<float> rope_inv_freq_;  // [head_dim / 2]
  std::vector<PackedLayer> layers_;   // [num_hidden_layers]
  Linear lm_head_;                    // [vocab, hidden]
  bool gather_from_head_ = false;     // tied dense embedding: gathered from lm_head_'s panels
};

}  // namespace

Result<std::unique_ptr<ForwardBackend>> make_cpu_backend(const ModelConfig& config,
                                                         ModelWeights& weights,
                                                         const CpuBackendOptions& options) {
  if (options.threads < 0) {
    return invalid_argument("--threads must be >= 0 (0 = one per CPU), got " +
                            std::to_string(options.threads));
  }
  XY_ASSIGN_OR_RETURN(const Arithmetic arithmetic, resolve_arithmetic(weights, options));
  CpuBackendOptions packing = options;
  packing.storage = arithmetic.storage;
  std::shared_ptr<WorkerPool> pool =
      options.pool != nullptr
          ? options.pool
          : std::make_shared<WorkerPool>(WorkerPoolOptions{.num_workers = options.threads});
  auto backend =
      std::make_unique<CpuBackend>(config, weights, std::move(pool), options.tune, arithmetic.isa);
  XY_RETURN_IF_ERROR(backend->pack(weights, packing));
  return std::unique_ptr<ForwardBackend>(std::move(backend));
}

}  // namespace xy
