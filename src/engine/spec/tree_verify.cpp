#include "engine/spec/tree_verify.h"

#include <cstring>
#include <string>
#include <utility>

#include "core/check.h"
#include "grammar/matcher.h"

namespace xy::spec {

Result<TreeVerifyOutput> verify_tree(std::span<const float> logits, std::span<const int32_t> drafts,
                                     std::span<const int32_t> parents, int vocab_size,
                                     const SamplingParams& params, TokenHistory& history,
                                     RequestRng& rng, Sampler& sampler,
                                     grammar::GrammarMatcher* matcher) {
  const size_t vocab = static_cast<size_t>(vocab_size);
  const size_t k = drafts.size();
  const bool chain = parents.empty();
  if (vocab_size <= 0 || (!chain && parents.size() != k) || logits.size() != (k + 1) * vocab) {
    return invalid_argument("verify_tree: " + std::to_string(logits.size()) + " logits for " +
                            std::to_string(k) + " drafts, " + std::to_string(parents.size()) +
                            " parents and vocab " + std::to_string(vocab_size));
  }
  for (size_t i = 0; i < k; ++i) {
    if (drafts[i] < 0 || drafts[i] >= vocab_size) {
      return invalid_argument("verify_tree: draft " + std::to_string(i) + " token " +
                              std::to_string(drafts[i]) + " outside the vocabulary");
    }
    if (!chain && (parents[i] < -1 || parents[i] >= static_cast<int32_t>(i))) {
      return invalid_argument("verify_tree: draft " + std::to_string(i) + " has parent " +
                              std::to_string(parents[i]) + " (must precede it)");
    }
  }
  TreeVerifyOutput out;
  Status status = Status::ok();
  std::vector<uint32_t> mask;
  if (matcher != nullptr) mask.resize(matcher->mask_words());
  int node = -1;  // -1 = root; else a draft index
  while (true) {
    const size_t row = static_cast<size_t>(node + 1);
    if (matcher != nullptr) matcher->fill_next_token_mask(mask);
    Result<SampleOutput> sampled =
        sampler.sample(logits.subspan(row * vocab, vocab), params, history, rng, mask);
    if (!sampled.is_ok()) {
      status = sampled.status();
      break;
    }
    const int32_t token = sampled->token;
    if (matcher != nullptr && !matcher->accept_token(token)) {
      status = internal_error("verify_tree: the grammar rejected its own masked token " +
                              std::to_string(token));
      break;
    }
    int next = -1;  // the child carrying `token`
    if (chain) {
      if (row < k && drafts[row] == token) next = static_cast<int>(row);
    } else {
      for (size_t c = row; c < k; ++c) {  // children come after their parent
        if (parents[c] == node && drafts[c] == token) {
          next = static_cast<int>(c);
          break;
        }
      }
    }
    out.tokens.push_back(token);
    out.samples.push_back(std::move(*sampled));
    if (next < 0) break;
    // A complete grammar allows nothing after this draft: it ends the output as the new token.
    if (matcher != nullptr && matcher->is_terminated()) break;
    out.accepted_rows.push_back(next + 1);
    history.add_output(token);
    node = next;
  }
  // Restore the caller's history.
  for (int32_t row : out.accepted_rows) history.remove_output(drafts[static_cast<size_t>(row - 1)]);
  if (!status.is_ok()) {
    if (matcher != nullptr) matcher->rollback(static_cast<int>(out.tokens.size()));
    return status;
  }
  out.num_accepted = static_cast<int>(out.accepted_rows.size());
  return out;
}

void compact_accepted_kv(KvCache& cache, std::span<const int32_t> block_table, int kv_len,
                         std::span<const int32_t> accepted_rows) {
  const int bs = cache.block_size();
  const auto slot_of = [&](int logical) {
    XY_CHECK(logical >= 0 && logical / bs < static_cast<int>(block_table.size()));
    return static_cast<int64_t>(block_table[static_cast<size_t>(logical / bs)]) * bs + logical % bs;
  };
  for (size_t d = 0; d < accepted_rows.size(); ++d) {
    const int dst_row = static_cast<int>(d) + 1;
    const int src_row = accepted_rows[d];
    XY_CHECK(src_row >= dst_row);
    if (src_row == dst_row) continue;
    const int64_t src = slot_of(kv_len + src_row);
    const int64_t dst = slot_of(kv_len + dst_row);
    for (int l = 0; l < cache.shape().num_layers; ++l) ref::copy_kv_slot(cache.layer(l), src, dst);
  }
}

}  // namespace xy::spec
