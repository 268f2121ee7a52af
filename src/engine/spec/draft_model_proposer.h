// Speculation with a draft model: a smaller checkpoint with the same tokenizer proposes each
// decoding request's next tokens greedily (argmax, lowest id on ties), as deterministic drafts.
//
// The draft model has its own KV cache and block tables (a private block pool). Every step runs
// ALL requests' draft work as batched forwards, one Token-Table per draft depth:
//   depth 0: per request, the tokens the draft has not seen yet (the whole prompt the first time,
//            afterwards the tokens the target accepted since the last proposal, which always ends
//            with the target's own new token), logits of the last row -> d_1;
//   depth j: one decode row d_j per request still drafting -> d_(j+1).
// Rejected drafts are rolled back by shrinking the draft's computed length to the prefix its KV
// shares with the sequence's real tokens (later writes overwrite the slots).
//
// Tree mode (tree_width b > 1): at every depth the b - 1 next most likely tokens become leaf
// siblings of the greedy token, so one verify segment also checks the alternatives; a node
// budget k then drafts ceil(k / b) depths.
//
// Out of draft KV blocks: the request gets no drafts this step (and drops its draft KV).
// Thread: engine thread.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/kv_cache/block_pool.h"
#include "engine/spec/adaptive_proposer.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace xy::spec {

struct DraftModelConfig {
  int num_kv_blocks = 0;  // draft KV pool; 0 = from kv_cache_bytes
  int64_t kv_cache_bytes = 256ll << 20;
  int block_size = 16;
  DType kv_dtype = DType::kF32;
  int tree_width = 1;  // 1 = chain
};

// The draft must share the target's vocabulary: when both directories have a tokenizer.json, the
// same token -> id map and added tokens (the embedding tables may differ in padding rows, as in
// the Qwen2.5 family); otherwise the same vocab_size. kInvalidArgument names the first
// difference.
Status check_draft_compatible(const std::string& target_dir, const ModelConfig& target,
                              const std::string& draft_dir, const ModelConfig& draft);

class DraftModelProposer final : public AdaptiveProposer {
 public:
  // draft: a loaded draft model sharing the target's tokenizer (check_draft_compatible); drafts
  // are drawn from the ids both embedding tables have.
  static Result<std::unique_ptr<DraftModelProposer>> create(std::shared_ptr<const Model> draft,
                                                            int target_vocab_size,
                                                            const DraftModelConfig& config,
                                                            const DraftLengthConfig& policy);
  const char* name() const override { return config_.tree_width > 1 ? "draft-tree" : "draft"; }

  // For tests: draft-model tokens with KV, per live sequence; blocks in use.
  int draft_kv_len(SeqId id) const;
  int num_used_blocks() const { return pool_.num_blocks() - pool_.num_free(); }

 protected:
  Status draft(std::span<Sequence* const> seqs, std::span<const int> lengths) override;
  void forget(SeqId id) override;

 private:
  struct SeqState {
    std::vector<int32_t> blocks;     // draft KV block table
    std::vector<int32_t> kv_tokens;  // tokens whose K/V the draft cache holds, logical order
  };
  struct Work;  // one request's drafting this step (cpp)

  DraftModelProposer(std::shared_ptr<const Model> draft, KvCache cache, int target_vocab_size,
                     const DraftModelConfig& config, const DraftLengthConfig& policy);
  bool ensure_blocks(SeqState& s, int num_tokens);
  void free_state(SeqState& s);

  std::shared_ptr<const Model> model_;
  KvCache cache_;
  int num_draftable_ids_;  // min(target, draft) vocab_size
  DraftModelConfig config_;
  BlockPool pool_;
  ForwardScratch scratch_;
  std::vector<float> logits_;  // [rows, vocab]
  std::unordered_map<SeqId, SeqState> states_;
};

}  // namespace xy::spec
