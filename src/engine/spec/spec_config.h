// How speculation is configured (CLI flags --spec-method, --num-speculative-tokens,
// --draft-model, ...) and the one place that turns a configuration into a Proposer.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "engine/spec/draft_length_policy.h"
#include "engine/spec/proposer.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace xy::spec {

enum class SpecMethod { kNone, kNgram, kDraft, kTree };
Result<SpecMethod> parse_spec_method(const std::string& name);  // none|ngram|draft|tree
const char* spec_method_name(SpecMethod method);

struct SpecConfig {
  SpecMethod method = SpecMethod::kNone;
  int num_speculative_tokens = 0;  // max drafts (tree: nodes) per request per step
  std::string draft_model_dir;     // draft / tree with a draft model
  int ngram_min = 2;
  int ngram_max = 4;
  // tree: candidate branches (n-gram matches, or the draft model's top tokens per depth).
  int tree_width = 3;
  bool adaptive = true;                 // load-adaptive draft length (false: always the max)
  double step_fixed_cost_tokens = 4.0;  // DraftLengthConfig::step_fixed_cost_tokens
  int64_t draft_kv_cache_bytes = 256ll << 20;
  DType draft_kv_dtype = DType::kF32;

  // Range checks; kInvalidArgument naming the flag.
  Status validate() const;
  bool enabled() const { return method != SpecMethod::kNone && num_speculative_tokens > 0; }
};

// Multiply-adds per token of a decoder (the linear layers and lm_head): the unit of the draft
// model's cost relative to the target's (DraftLengthConfig::draft_cost_ratio).
double decoder_flops_per_token(const ModelConfig& config);

// The proposer for `config` (nullptr when speculation is off). target_dir / target: the served
// model (the draft's vocabulary is checked against it); load: how to load the draft checkpoint.
Result<std::unique_ptr<Proposer>> make_proposer(const SpecConfig& config,
                                                const std::string& target_dir,
                                                const ModelConfig& target,
                                                const LoadOptions& load = {});

}  // namespace xy::spec
