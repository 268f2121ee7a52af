#include "engine/spec/draft_model_proposer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "engine/spec/token_trie.h"
#include "model/token_table_builder.h"

namespace xy::spec {

namespace {

Result<nlohmann::json> read_tokenizer_json(const std::string& dir) {
  const std::string path = dir + "/tokenizer.json";
  std::ifstream in(path);
  if (!in) return not_found(path + ": cannot open");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return format_error(path + ": not valid JSON");
  return j;
}

// The b best tokens of a logits row, best first, ties to the lower id (b <= row size).
void top_tokens(std::span<const float> row, int b, std::vector<int32_t>& out) {
  out.clear();
  for (int32_t id = 0; id < static_cast<int32_t>(row.size()); ++id) {
    const float x = row[static_cast<size_t>(id)];
    // Insertion into a short sorted list: b is a handful.
    size_t at = out.size();
    while (at > 0 && x > row[static_cast<size_t>(out[at - 1])]) --at;
    if (at >= static_cast<size_t>(b)) continue;
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), id);
    if (out.size() > static_cast<size_t>(b)) out.pop_back();
  }
}

}  // namespace

Status check_draft_compatible(const std::string& target_dir, const ModelConfig& target,
                              const std::string& draft_dir, const ModelConfig& draft) {
  namespace fs = std::filesystem;
  const bool comparable =
      fs::exists(target_dir + "/tokenizer.json") && fs::exists(draft_dir + "/tokenizer.json");
  if (!comparable) {
    // Without both tokenizers only the embedding sizes can vouch for a shared vocabulary.
    if (target.vocab_size != draft.vocab_size) {
      return invalid_argument("draft model " + draft_dir + ": vocab_size " +
                              std::to_string(draft.vocab_size) + " differs from the target's " +
                              std::to_string(target.vocab_size) + " (" + target_dir +
                              ") and there are no two tokenizer.json files to compare; a draft "
                              "must share the target's tokenizer");
    }
    return Status::ok();
  }
  XY_ASSIGN_OR_RETURN(nlohmann::json t, read_tokenizer_json(target_dir));
  XY_ASSIGN_OR_RETURN(nlohmann::json d, read_tokenizer_json(draft_dir));
  if (!t.is_object() || !d.is_object()) {
    return format_error("draft model check: tokenizer.json of " +
                        (t.is_object() ? draft_dir : target_dir) + " is not a JSON object");
  }
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& tv =
      t.contains("model") && t["model"].contains("vocab") ? t["model"]["vocab"] : empty;
  const nlohmann::json& dv =
      d.contains("model") && d["model"].contains("vocab") ? d["model"]["vocab"] : empty;
  if (tv != dv) {
    if (tv.is_object() && dv.is_object()) {
      for (auto it = tv.begin(); it != tv.end(); ++it) {
        if (!dv.contains(it.key()) || dv[it.key()] != it.value()) {
          return invalid_argument(
              "draft model " + draft_dir + ": tokenizer.json differs from the target's (" +
              target_dir + "): token " + nlohmann::json(it.key()).dump() + " has id " +
              it.value().dump() + " in the target and " +
              (dv.contains(it.key()) ? dv[it.key()].dump() : "no id") + " in the draft");
        }
      }
    }
    return invalid_argument("draft model " + draft_dir + ": tokenizer.json vocabulary (" +
                            std::to_string(dv.size()) + " tokens) differs from the target's (" +
                            std::to_string(tv.size()) + " tokens, " + target_dir + ")");
  }
  const nlohmann::json ta = t.value("added_tokens", nlohmann::json::array());
  const nlohmann::json da = d.value("added_tokens", nlohmann::json::array());
  if (ta != da) {
    return invalid_argument("draft model " + draft_dir +
                            ": tokenizer.json added_tokens differ from the target's (" +
                            target_dir + ")");
  }
  // Same tokenizer; the embedding tables may still differ in padding rows (Qwen2.5-0.5B has
  // 151936, Qwen2.5-7B 152064): drafts are drawn only from ids both models have.
  return Status::ok();
}

struct DraftModelProposer::Work {
  Sequence* seq = nullptr;
  SeqState* state = nullptr;
  int depths = 0;              // draft forwards this request takes part in
  std::vector<int32_t> chain;  // greedy tokens d_1..
  TokenTrie trie;              // tree mode
  int max_nodes = 0;
  int last_chain_node = -1;  // tree mode: trie index of the deepest chain token
};

Result<std::unique_ptr<DraftModelProposer>> DraftModelProposer::create(
    std::shared_ptr<const Model> draft, int target_vocab_size, const DraftModelConfig& config,
    const DraftLengthConfig& policy) {
  if (!draft) return invalid_argument("draft model proposer: no draft model");
  if (target_vocab_size <= 0) return invalid_argument("draft model proposer: target vocab_size");
  if (config.block_size < 1 || config.tree_width < 1) {
    return invalid_argument("draft model proposer: block_size and tree_width must be >= 1");
  }
  int blocks = config.num_kv_blocks;
  if (blocks <= 0) {
    const KvCacheShape shape =
        KvCache::shape_for(draft->config(), 1, config.block_size, config.kv_dtype);
    XY_ASSIGN_OR_RETURN(KvCache probe, KvCache::create(shape));
    blocks = static_cast<int>(std::max<int64_t>(
        1, config.kv_cache_bytes / static_cast<int64_t>(probe.bytes_per_block())));
  }
  XY_ASSIGN_OR_RETURN(KvCache cache,
                      draft->make_kv_cache(blocks, config.block_size, config.kv_dtype));
  return std::unique_ptr<DraftModelProposer>(new DraftModelProposer(
      std::move(draft), std::move(cache), target_vocab_size, config, policy));
}

DraftModelProposer::DraftModelProposer(std::shared_ptr<const Model> draft, KvCache cache,
                                       int target_vocab_size, const DraftModelConfig& config,
                                       const DraftLengthConfig& policy)
    : AdaptiveProposer(policy),
      model_(std::move(draft)),
      cache_(std::move(cache)),
      num_draftable_ids_(std::min(target_vocab_size, model_->config().vocab_size)),
      config_(config),
      pool_(cache_.num_blocks(), config.block_size) {}

int DraftModelProposer::draft_kv_len(SeqId id) const {
  const auto it = states_.find(id);
  return it == states_.end() ? 0 : static_cast<int>(it->second.kv_tokens.size());
}

void DraftModelProposer::free_state(SeqState& s) {
  for (int32_t b : s.blocks) {
    XY_CHECK(pool_.release(b) == 0);
    pool_.free(b);
  }
  s.blocks.clear();
  s.kv_tokens.clear();
}

void DraftModelProposer::forget(SeqId id) {
  const auto it = states_.find(id);
  if (it == states_.end()) return;
  free_state(it->second);
  states_.erase(it);
}

bool DraftModelProposer::ensure_blocks(SeqState& s, int num_tokens) {
  const int need = (num_tokens + config_.block_size - 1) / config_.block_size;
  while (static_cast<int>(s.blocks.size()) < need) {
    const std::optional<int32_t> b = pool_.allocate();
    if (!b) return false;
    s.blocks.push_back(*b);
  }
  return true;
}

Status DraftModelProposer::draft(std::span<Sequence* const> seqs, std::span<const int> lengths) {
  const int b = config_.tree_width;
  const size_t vocab = static_cast<size_t>(model_->config().vocab_size);
  std::vector<Work> work;
  work.reserve(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    Sequence& seq = *seqs[i];
    seq.set_draft_tokens({});
    SeqState& s = states_[seq.id()];
    const std::span<const int32_t> tokens = seq.tokens();
    const int n = seq.num_tokens();
    // Roll back to the prefix the draft KV shares with the real tokens; keep at least the last
    // token to run, so there is a row to read logits from.
    size_t common = 0;
    const size_t limit = std::min(s.kv_tokens.size(), static_cast<size_t>(n - 1));
    while (common < limit && s.kv_tokens[common] == tokens[common]) ++common;
    s.kv_tokens.resize(common);
    Work w;
    w.seq = &seq;
    w.state = &s;
    w.max_nodes = lengths[i];
    w.depths = b > 1 ? (lengths[i] + b - 1) / b : lengths[i];
    // KV for the n real tokens and d_1..d_(depths-1).
    if (!ensure_blocks(s, n + w.depths - 1)) {
      free_state(s);  // its blocks may let others draft; it recomputes next time
      continue;
    }
    work.push_back(std::move(w));
  }

  std::vector<int32_t> top;
  for (int depth = 0;; ++depth) {
    TokenTableBuilder builder(config_.block_size);
    std::vector<Work*> rows;
    for (Work& w : work) {
      if (depth >= w.depths) continue;
      SeqState& s = *w.state;
      const int kv_len = static_cast<int>(s.kv_tokens.size());
      std::vector<int32_t> feed;
      if (depth == 0) {
        const std::span<const int32_t> tokens = w.seq->tokens();
        feed.assign(tokens.begin() + kv_len, tokens.end());
      } else {
        feed.push_back(w.chain.back());
      }
      builder.add_segment(
          static_cast<int>(w.seq->id()),
          feed.size() == 1 && kv_len > 0 ? SegmentKind::kDecode : SegmentKind::kPrefill, feed,
          kv_len, s.blocks, LogitRows::kLast);
      s.kv_tokens.insert(s.kv_tokens.end(), feed.begin(), feed.end());
      rows.push_back(&w);
    }
    if (rows.empty()) break;
    const TokenTable table = builder.take();
    logits_.resize(rows.size() * vocab);
    const Status st = model_->forward(table, cache_, logits_.data(), scratch_);
    if (!st.is_ok()) {
      // The draft cache may now hold partial writes: forget every request's draft state.
      for (Work& w : work) free_state(*w.state);
      return st;
    }
    for (size_t r = 0; r < rows.size(); ++r) {
      Work& w = *rows[r];
      // Ids the target does not have (padding rows of a larger draft table) are never drafted.
      const std::span<const float> row(logits_.data() + r * vocab,
                                       static_cast<size_t>(num_draftable_ids_));
      top_tokens(row, b, top);
      w.chain.push_back(top[0]);
      if (b > 1) {
        // The greedy token continues the chain; the runners-up are leaf siblings.
        const int parent = w.last_chain_node;
        if (w.trie.size() < w.max_nodes) w.last_chain_node = w.trie.add_child(parent, top[0]);
        for (size_t a = 1; a < top.size() && w.trie.size() < w.max_nodes; ++a) {
          w.trie.add_child(parent, top[a]);
        }
      }
    }
  }
  for (Work& w : work) {
    if (b == 1) {
      w.seq->set_draft_tokens(std::move(w.chain));
    } else if (w.trie.is_chain()) {
      w.seq->set_draft_tokens(w.trie.take_tokens());
    } else {
      std::vector<int32_t> parents = w.trie.take_parents();
      w.seq->set_draft_tree(w.trie.take_tokens(), std::move(parents));
    }
  }
  return Status::ok();
}

}  // namespace xy::spec
