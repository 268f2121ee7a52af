#include "engine/spec/ngram_proposer.h"

#include <algorithm>

#include "core/check.h"
#include "engine/spec/token_trie.h"

namespace xy::spec {

NgramProposer::NgramProposer(const NgramConfig& config, const DraftLengthConfig& policy)
    : AdaptiveProposer(policy), config_(config) {
  XY_CHECK(config_.tree_width >= 1 && config_.tree_width <= NgramIndex::kMaxMatches);
}

Status NgramProposer::draft(std::span<Sequence* const> seqs, std::span<const int> lengths) {
  for (size_t i = 0; i < seqs.size(); ++i) {
    Sequence& seq = *seqs[i];
    const int k = lengths[i];
    std::unique_ptr<NgramIndex>& index = indexes_[seq.id()];
    if (!index) {
      index = std::make_unique<NgramIndex>(config_.min_n, config_.max_n, config_.tree_width);
    }
    const std::span<const int32_t> tokens = seq.tokens();
    index->extend(tokens);
    const std::vector<int> starts = index->continuations(tokens);
    if (starts.empty()) {
      seq.set_draft_tokens({});
      continue;
    }
    const auto continuation = [&](int start) {
      const size_t begin = static_cast<size_t>(start);
      const size_t len = std::min(static_cast<size_t>(k), tokens.size() - begin);
      return tokens.subspan(begin, len);
    };
    if (config_.tree_width == 1) {
      const std::span<const int32_t> c = continuation(starts.front());
      seq.set_draft_tokens(std::vector<int32_t>(c.begin(), c.end()));
      continue;
    }
    // Every match gets an equal share of the node budget k, then the most recent one grows deeper
    // with what is left (shared prefixes cost nothing, so the budget often reaches further).
    TokenTrie trie;
    const size_t share = static_cast<size_t>(std::max(1, k / static_cast<int>(starts.size())));
    for (int start : starts) {
      const std::span<const int32_t> c = continuation(start);
      trie.add_path(c.first(std::min(share, c.size())), k);
    }
    trie.add_path(continuation(starts.front()), k);
    if (trie.is_chain()) {
      seq.set_draft_tokens(trie.take_tokens());
    } else {
      std::vector<int32_t> parents = trie.take_parents();
      seq.set_draft_tree(trie.take_tokens(), std::move(parents));
    }
  }
  return Status::ok();
}

}  // namespace xy::spec
