#include "model/gguf/gguf_names.h"

#include <utility>

namespace xy::gguf {
namespace {

// Per-layer parts: GGUF name part -> HF name part (both without the ".weight"/".bias" suffix).
constexpr std::pair<const char*, const char*> kLayerParts[] = {
    {"attn_norm", "input_layernorm"},    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},      {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"}, {"attn_q_norm", "self_attn.q_norm"},
    {"attn_k_norm", "self_attn.k_norm"}, {"ffn_norm", "post_attention_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},       {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};
constexpr std::pair<const char*, const char*> kGlobal[] = {
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
};

// Splits "<prefix><layer>.<part><.weight|.bias>"; false when `name` has another shape.
bool split_layer_name(const std::string& name, const std::string& prefix, std::string* layer,
                      std::string* part, std::string* suffix) {
  if (name.rfind(prefix, 0) != 0) return false;
  const size_t dot = name.find('.', prefix.size());
  const size_t last = name.rfind('.');
  if (dot == std::string::npos || last == dot) return false;
  *layer = name.substr(prefix.size(), dot - prefix.size());
  if (layer->empty() || layer->find_first_not_of("0123456789") != std::string::npos) return false;
  *part = name.substr(dot + 1, last - dot - 1);
  *suffix = name.substr(last);
  return *suffix == ".weight" || *suffix == ".bias";
}

}  // namespace

std::string hf_tensor_name(const std::string& g) {
  for (const auto& [from, to] : kGlobal)
    if (g == from) return to;
  std::string layer, part, suffix;
  if (!split_layer_name(g, "blk.", &layer, &part, &suffix)) return "";
  for (const auto& [from, to] : kLayerParts)
    if (part == from) return "model.layers." + layer + "." + to + suffix;
  return "";
}

std::string gguf_tensor_name(const std::string& hf) {
  for (const auto& [to, from] : kGlobal)
    if (hf == from) return to;
  std::string layer, part, suffix;
  if (!split_layer_name(hf, "model.layers.", &layer, &part, &suffix)) return "";
  for (const auto& [to, from] : kLayerParts)
    if (part == from) return "blk." + layer + "." + to + suffix;
  return "";
}

int64_t hf_row_of(int64_t gguf_row, int head_dim) {
  const int64_t head = gguf_row / head_dim, in_head = gguf_row % head_dim;
  const int64_t i = in_head / 2, j = in_head % 2;
  return head * head_dim + j * (head_dim / 2) + i;
}

int permuted_heads(const std::string& gguf_name, const ModelConfig& config) {
  // llama.cpp's converter permutes for its llama architecture only (Mistral files included).
  if (config.arch != Architecture::kLlama && config.arch != Architecture::kMistral) return 0;
  if (gguf_name.find(".attn_q.") != std::string::npos) return config.num_attention_heads;
  if (gguf_name.find(".attn_k.") != std::string::npos) return config.num_key_value_heads;
  return 0;
}

Status check_permuted_rows(const std::string& name, int64_t rows, const ModelConfig& config,
                           const std::string& source) {
  const int heads = permuted_heads(name, config);
  if (heads == 0 || rows == int64_t(heads) * config.head_dim) return Status::ok();
  return format_error(
      source + ": tensor '" + name + "' has " + std::to_string(rows) +
      " rows, expected heads x head_dim = " + std::to_string(int64_t(heads) * config.head_dim));
}

}  // namespace xy::gguf
