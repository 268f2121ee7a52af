// Model-free prompt-lookup speculation (vLLM's "ngram" method): match the sequence's last n tokens
// (n from max_n down to min_n) against its own earlier tokens (prompt and outputs) and propose
// what followed. With tree_width > 1 the continuations of up to tree_width distinct earlier
// occurrences are merged into a token tree (verified in one segment with a spec mask).
//
// One NgramIndex per sequence, extended incrementally each step (no rescan of the history).
// Thread: engine thread.
#pragma once

#include <memory>
#include <unordered_map>

#include "engine/spec/adaptive_proposer.h"
#include "engine/spec/ngram_index.h"

namespace xy::spec {

struct NgramConfig {
  int min_n = 2;
  int max_n = 4;
  int tree_width = 1;  // candidate continuations merged per step; 1 = a chain
};

class NgramProposer final : public AdaptiveProposer {
 public:
  NgramProposer(const NgramConfig& config, const DraftLengthConfig& policy);
  const char* name() const override { return config_.tree_width > 1 ? "ngram-tree" : "ngram"; }

 protected:
  Status draft(std::span<Sequence* const> seqs, std::span<const int> lengths) override;
  void forget(SeqId id) override { indexes_.erase(id); }

 private:
  NgramConfig config_;
  std::unordered_map<SeqId, std::unique_ptr<NgramIndex>> indexes_;
};

}  // namespace xy::spec
