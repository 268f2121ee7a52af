// Draft checkpoints for speculation tests beside the tiny target of engine_test_model.h: the
// `tiny-draft` preset (1 layer, same vocabulary and tokenizer), written once per test executable
// to a temp dir, and proposer factories over it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/check.h"
#include "engine/spec/draft_model_proposer.h"
#include "engine/spec/ngram_proposer.h"
#include "engine_test_model.h"
#include "model/model.h"
#include "model/model_presets.h"
#include "model/random_checkpoint.h"

namespace xy::testing {

struct DraftCheckpoint {
  std::string dir;
  std::shared_ptr<const Model> model;
};

inline const DraftCheckpoint& tiny_draft_model() {
  static const DraftCheckpoint m = [] {
    DraftCheckpoint d;
    d.dir =
        (std::filesystem::temp_directory_path() / ("xy_spec_draft_" + std::to_string(::getpid())))
            .string();
    std::filesystem::remove_all(d.dir);
    Result<ModelPreset> preset = find_model_preset("tiny-draft");
    XY_CHECK(preset.is_ok());
    RandomCheckpointOptions opts;
    opts.dtype = DType::kF32;
    opts.seed = 12;
    opts.tokenizer_vocab_size = tiny_model().tokenizer_vocab;  // the target's tokenizer
    const Status st = write_random_checkpoint(preset->config, d.dir, opts);
    XY_CHECK_MSG(st.is_ok(), st.to_string().c_str());
    LoadOptions load;
    load.weight_dtype = DType::kF32;
    Result<std::unique_ptr<Model>> model = Model::load(d.dir, load);
    XY_CHECK_MSG(model.is_ok(), model.status().to_string().c_str());
    d.model = std::shared_ptr<const Model>(std::move(*model));
    static struct Cleanup {
      std::string dir;
      ~Cleanup() { std::filesystem::remove_all(dir); }
    } cleanup{d.dir};
    return d;
  }();
  return m;
}

inline spec::DraftLengthConfig spec_policy(bool adaptive) {
  spec::DraftLengthConfig c;
  c.adaptive = adaptive;
  return c;
}

inline std::unique_ptr<spec::Proposer> make_ngram_proposer(int tree_width = 1,
                                                           bool adaptive = false) {
  return std::make_unique<spec::NgramProposer>(spec::NgramConfig{1, 3, tree_width},
                                               spec_policy(adaptive));
}

// draft = the tiny-draft checkpoint, or the target itself (every greedy draft accepted).
inline std::unique_ptr<spec::Proposer> make_draft_proposer(bool draft_is_target, int tree_width = 1,
                                                           bool adaptive = false,
                                                           int num_kv_blocks = 256) {
  spec::DraftModelConfig cfg;
  cfg.num_kv_blocks = num_kv_blocks;
  cfg.block_size = 16;
  cfg.tree_width = tree_width;
  std::shared_ptr<const Model> draft =
      draft_is_target ? tiny_model().model : tiny_draft_model().model;
  auto p = spec::DraftModelProposer::create(draft, tiny_model().model->config().vocab_size, cfg,
                                            spec_policy(adaptive));
  XY_CHECK_MSG(p.is_ok(), p.status().to_string().c_str());
  return std::move(*p);
}

}  // namespace xy::testing
