#include "engine/step_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"
#include "engine/sampling/logits_math.h"
#include "engine/spec/tree_verify.h"
#include "grammar/matcher.h"

namespace xy {

TokenLogprobs raw_token_logprobs(std::span<const float> row, int32_t token, int top_n) {
  TokenLogprobs out;
  out.token = token;
  const float max = sampling::max_value(row);
  const double log_norm = std::log(sampling::sum_exp(row, max));
  const auto logprob = [&](float x) { return static_cast<float>((x - max) - log_norm); };
  out.logprob = logprob(row[static_cast<size_t>(token)]);
  out.rank = sampling::count_at_least(row, row[static_cast<size_t>(token)]);
  if (top_n > 0) {
    std::vector<int32_t> ids(row.size());
    std::iota(ids.begin(), ids.end(), 0);
    const size_t n = std::min(static_cast<size_t>(top_n), ids.size());
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(),
                      [&](int32_t a, int32_t b) {
                        const float xa = row[static_cast<size_t>(a)];
                        const float xb = row[static_cast<size_t>(b)];
                        return xa > xb || (xa == xb && a < b);
                      });
    for (size_t i = 0; i < n; ++i) {
      out.top_logprobs.push_back({ids[i], logprob(row[static_cast<size_t>(ids[i])])});
    }
  }
  return out;
}

Result<SegmentTokens> StepSampler::run(const ScheduledSegment& seg, std::span<const float> logits,
                                       int vocab, RequestState& request) {
  SegmentTokens out;
  const size_t v = static_cast<size_t>(vocab);
  XY_CHECK(logits.size() == static_cast<size_t>(seg.num_logit_rows()) * v);
  grammar::GrammarMatcher* matcher = request.matcher ? &*request.matcher : nullptr;
  if (seg.kind != SegmentKind::kVerify) {
    std::span<const uint32_t> mask;
    if (matcher != nullptr) {
      mask_.resize(matcher->mask_words());
      matcher->fill_next_token_mask(mask_);
      mask = mask_;
    }
    XY_ASSIGN_OR_RETURN(SampleOutput s, sampler_.sample(logits, request.params, request.history,
                                                        request.rng, mask));
    if (matcher != nullptr && !matcher->accept_token(s.token)) {
      return internal_error("the grammar rejected its own masked token " + std::to_string(s.token));
    }
    out.tokens.push_back(s.token);
    if (request.wants_logprobs()) {
      out.logprobs.push_back({s.token, s.logprob, s.rank, std::move(s.top_logprobs)});
    }
    return out;
  }

  // Chains and trees alike: each emitted token is the one plain decoding would sample there
  // (spec/tree_verify.h), so speculation changes no output for a given seed.
  const int k = seg.num_draft_tokens;
  const std::span<const int32_t> drafts = seg.seq->draft_tokens().first(static_cast<size_t>(k));
  std::span<const int32_t> parents = seg.seq->draft_parents();
  if (!parents.empty()) parents = parents.first(static_cast<size_t>(k));
  XY_ASSIGN_OR_RETURN(spec::TreeVerifyOutput verified,
                      spec::verify_tree(logits, drafts, parents, vocab, request.params,
                                        request.history, request.rng, sampler_, matcher));
  out.num_drafts = k;
  out.num_accepted = verified.num_accepted;
  out.tokens = std::move(verified.tokens);
  // A chain's accepted drafts already sit at rows 1..m; only a tree's path needs compacting.
  if (!parents.empty()) out.accepted_rows = std::move(verified.accepted_rows);
  if (request.wants_logprobs()) {
    for (SampleOutput& s : verified.samples) {
      out.logprobs.push_back({s.token, s.logprob, s.rank, std::move(s.top_logprobs)});
    }
  }
  return out;
}

}  // namespace xy
