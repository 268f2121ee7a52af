// Architectures of real models (shapes only) that `xyserve make-model` can instantiate with
// random weights, so tests and benchmarks need nothing from outside.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "model/model_config.h"

namespace xy {

struct ModelPreset {
  std::string name;         // e.g. "smollm2-135m"
  std::string description;  // which real model's shapes it copies
  ModelConfig config;
};

// smollm2-135m, qwen2.5-0.5b, llama-3.2-1b (the real models' config.json values), and the small
// test models tiny (a 4-layer GQA Llama) and tiny-draft (its 1-layer draft, same tokenizer).
const std::vector<ModelPreset>& model_presets();
Result<ModelPreset> find_model_preset(const std::string& name);

// config.json text for a ModelConfig, in the keys transformers writes for the architecture.
std::string model_config_to_json(const ModelConfig& config);

}  // namespace xy
