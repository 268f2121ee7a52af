#include "engine/spec/spec_config.h"

#include "engine/spec/draft_model_proposer.h"
#include "engine/spec/ngram_index.h"
#include "engine/spec/ngram_proposer.h"
#include "model/model.h"

namespace xy::spec {

Result<SpecMethod> parse_spec_method(const std::string& name) {
  if (name == "none") return SpecMethod::kNone;
  if (name == "ngram") return SpecMethod::kNgram;
  if (name == "draft") return SpecMethod::kDraft;
  if (name == "tree") return SpecMethod::kTree;
  return invalid_argument("--spec-method: unknown method '" + name +
                          "' (expected none, ngram, draft or tree)");
}

const char* spec_method_name(SpecMethod method) {
  switch (method) {
    case SpecMethod::kNone:
      return "none";
    case SpecMethod::kNgram:
      return "ngram";
    case SpecMethod::kDraft:
      return "draft";
    case SpecMethod::kTree:
      return "tree";
  }
  return "unknown";
}

Status SpecConfig::validate() const {
  if (num_speculative_tokens < 0 || num_speculative_tokens > 64) {
    return invalid_argument("--num-speculative-tokens must be in [0, 64], got " +
                            std::to_string(num_speculative_tokens));
  }
  if (method == SpecMethod::kDraft && draft_model_dir.empty()) {
    return invalid_argument("--spec-method draft needs --draft-model DIR");
  }
  if (method != SpecMethod::kNone && num_speculative_tokens == 0) {
    return invalid_argument(std::string("--spec-method ") + spec_method_name(method) +
                            " needs --num-speculative-tokens K >= 1");
  }
  if (ngram_min < 1 || ngram_max < ngram_min) {
    return invalid_argument("n-gram sizes need 1 <= min <= max, got " + std::to_string(ngram_min) +
                            ".." + std::to_string(ngram_max));
  }
  if (tree_width < 1 || tree_width > NgramIndex::kMaxMatches) {
    return invalid_argument("--spec-tree-width must be in [1, " +
                            std::to_string(NgramIndex::kMaxMatches) + "], got " +
                            std::to_string(tree_width));
  }
  if (!(step_fixed_cost_tokens >= 0.0)) {
    return invalid_argument("speculation step fixed cost must be >= 0");
  }
  return Status::ok();
}

double decoder_flops_per_token(const ModelConfig& c) {
  const double h = c.hidden_size, hd = c.head_dim;
  const double attn = h * hd * (2.0 * c.num_attention_heads + 2.0 * c.num_key_value_heads);
  const double mlp = 3.0 * h * c.intermediate_size;
  return c.num_hidden_layers * (attn + mlp) + h * c.vocab_size;
}

Result<std::unique_ptr<Proposer>> make_proposer(const SpecConfig& config,
                                                const std::string& target_dir,
                                                const ModelConfig& target,
                                                const LoadOptions& load) {
  XY_RETURN_IF_ERROR(config.validate());
  if (!config.enabled()) return std::unique_ptr<Proposer>();
  DraftLengthConfig policy;
  policy.adaptive = config.adaptive;
  policy.step_fixed_cost_tokens = config.step_fixed_cost_tokens;
  const bool use_draft = config.method == SpecMethod::kDraft ||
                         (config.method == SpecMethod::kTree && !config.draft_model_dir.empty());
  const int width = config.method == SpecMethod::kTree ? config.tree_width : 1;
  if (!use_draft) {
    NgramConfig ngram{config.ngram_min, config.ngram_max, width};
    return std::unique_ptr<Proposer>(new NgramProposer(ngram, policy));
  }
  XY_ASSIGN_OR_RETURN(std::unique_ptr<Model> draft, Model::load(config.draft_model_dir, load));
  XY_RETURN_IF_ERROR(
      check_draft_compatible(target_dir, target, config.draft_model_dir, draft->config()));
  policy.draft_cost_ratio =
      decoder_flops_per_token(draft->config()) / decoder_flops_per_token(target);
  DraftModelConfig dm;
  dm.kv_cache_bytes = config.draft_kv_cache_bytes;
  dm.kv_dtype = config.draft_kv_dtype;
  dm.tree_width = width;
  XY_ASSIGN_OR_RETURN(std::unique_ptr<DraftModelProposer> p,
                      DraftModelProposer::create(std::shared_ptr<const Model>(std::move(draft)),
                                                 target.vocab_size, dm, policy));
  return std::unique_ptr<Proposer>(std::move(p));
}

}  // namespace xy::spec
