#include "engine/sampling/rejection_sampler.h"

#include <string>

#include "engine/sampling/logits_math.h"

namespace xy {
namespace {

// Inverse CDF at u of the weights w_j = max(0, p_j - q_j) (q absent: q = one-hot at
// `excluded`, or nothing when excluded < 0), walking ids in increasing order. Returns -1 when
// the weights have no positive mass.
int32_t draw_residual(std::span<const float> p, std::span<const float> q, int32_t excluded,
                      double u) {
  auto weight = [&](size_t j) -> double {
    double w = p[j];
    if (!q.empty()) w -= q[j];
    if (static_cast<int32_t>(j) == excluded && q.empty()) w = 0.0;
    return w > 0.0 ? w : 0.0;
  };
  double total = 0.0;
  for (size_t j = 0; j < p.size(); ++j) total += weight(j);
  if (!(total > 0.0)) return -1;
  const double target = u * total;
  double cumulative = 0.0;
  int32_t last_positive = -1;
  for (size_t j = 0; j < p.size(); ++j) {
    const double w = weight(j);
    if (w == 0.0) continue;
    cumulative += w;
    last_positive = static_cast<int32_t>(j);
    if (cumulative > target) return last_positive;
  }
  return last_positive;  // u * total rounded up to the end
}

std::string position_name(size_t i) {
  return "draft position " + std::to_string(i + 1);
}

}  // namespace

Result<VerifyOutput> verify_draft(const DraftProposal& draft, std::span<const float> target_probs,
                                  int vocab_size, bool greedy, RequestRng& rng) {
  if (vocab_size <= 0) return invalid_argument("verify_draft: vocabulary size must be positive");
  const size_t vocab = static_cast<size_t>(vocab_size);
  const size_t k = draft.tokens.size();
  if (target_probs.size() != (k + 1) * vocab) {
    return invalid_argument(
        "verify_draft: target_probs has " + std::to_string(target_probs.size()) +
        " values, expected (k + 1) * vocab = " + std::to_string((k + 1) * vocab) +
        " for k = " + std::to_string(k));
  }
  if (!draft.probs.empty() && draft.probs.size() != k * vocab) {
    return invalid_argument("verify_draft: draft probs has " + std::to_string(draft.probs.size()) +
                            " values, expected k * vocab = " + std::to_string(k * vocab) +
                            " (or none for a deterministic proposer)");
  }
  for (size_t i = 0; i < k; ++i) {
    const int32_t d = draft.tokens[i];
    if (d < 0 || d >= vocab_size) {
      return invalid_argument("verify_draft: " + position_name(i) + ": token " + std::to_string(d) +
                              " outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    }
    if (!greedy && !draft.probs.empty() && !(draft.probs[i * vocab + d] > 0.0f)) {
      return invalid_argument("verify_draft: " + position_name(i) + ": token " + std::to_string(d) +
                              " has draft probability " +
                              std::to_string(draft.probs[i * vocab + d]) +
                              "; a proposed token must have positive draft probability");
    }
  }
  auto target_row = [&](size_t i) { return target_probs.subspan(i * vocab, vocab); };

  VerifyOutput out;
  if (greedy) {
    for (size_t i = 0; i <= k; ++i) {
      const int32_t best = sampling::argmax(target_row(i));
      if (i == k || draft.tokens[i] != best) {
        out.tokens.push_back(best);
        break;
      }
      out.tokens.push_back(best);
      ++out.num_accepted;
    }
    return out;
  }

  for (size_t i = 0; i < k; ++i) {
    const int32_t d = draft.tokens[i];
    const std::span<const float> p = target_row(i);
    const std::span<const float> q =
        draft.probs.empty() ? std::span<const float>() : draft.probs.subspan(i * vocab, vocab);
    const double q_d = q.empty() ? 1.0 : q[d];
    // Accept with probability min(1, p/q): u < p/q, written without the division.
    if (rng.next_uniform() * q_d < static_cast<double>(p[d])) {
      out.tokens.push_back(d);
      ++out.num_accepted;
      continue;
    }
    int32_t token = draw_residual(p, q, d, rng.next_uniform());
    if (token < 0) {
      // max(0, p - q) has no mass only through rounding (a rejection implies p(d) < q(d), hence
      // p > q somewhere); p itself is then the distribution to use.
      token = draw_residual(p, {}, -1, rng.next_uniform());
    }
    if (token < 0) {
      return invalid_argument("verify_draft: target distribution at " + position_name(i) +
                              " has no positive probability");
    }
    out.tokens.push_back(token);
    return out;
  }
  const int32_t bonus = draw_residual(target_row(k), {}, -1, rng.next_uniform());
  if (bonus < 0) {
    return invalid_argument(
        "verify_draft: target distribution after the last draft token has "
        "no positive probability");
  }
  out.tokens.push_back(bonus);
  return out;
}

}  // namespace xy
