#include "engine/budget_calibration.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "model/token_table_builder.h"

namespace xy {

Result<BudgetCalibration> calibrate_token_budget(const Model& model, KvCache& cache,
                                                 ForwardScratch& scratch, double target_ms,
                                                 int min_tokens, int max_tokens,
                                                 double time_limit_ms) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  const int vocab = model.config().vocab_size;
  const int64_t slots = cache.num_slots();
  max_tokens = static_cast<int>(std::min<int64_t>(max_tokens, slots));
  min_tokens = std::min(min_tokens, max_tokens);
  std::vector<int32_t> blocks(static_cast<size_t>(cache.num_blocks()));
  std::iota(blocks.begin(), blocks.end(), 0);
  std::vector<float> logits(static_cast<size_t>(vocab));

  auto time_step = [&](int n) -> Result<double> {
    std::vector<int32_t> tokens(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) tokens[static_cast<size_t>(i)] = (i * 7919 + 13) % vocab;
    const int nblocks = (n + cache.block_size() - 1) / cache.block_size();
    const TokenTable table = make_single_sequence_table(
        tokens, 0, std::span<const int32_t>(blocks).first(static_cast<size_t>(nblocks)),
        cache.block_size(), false);
    const auto t0 = Clock::now();
    XY_RETURN_IF_ERROR(model.forward(table, cache, logits.data(), scratch));
    return ms_since(t0);
  };

  BudgetCalibration out;
  // Warm-up (page faults of the scratch and caches), not measured.
  XY_RETURN_IF_ERROR(time_step(std::min(16, max_tokens)).status());
  int fit_n = 0;
  double fit_ms = 0.0;
  int miss_n = 0;
  double miss_ms = 0.0;
  for (int n = std::min(16, max_tokens);; n = std::min(2 * n, max_tokens)) {
    XY_ASSIGN_OR_RETURN(double ms, time_step(n));
    if (ms > target_ms) {
      miss_n = n;
      miss_ms = ms;
      break;
    }
    fit_n = n;
    fit_ms = ms;
    if (n == max_tokens || ms_since(start) > time_limit_ms) break;
  }
  if (fit_n == 0) {
    out.budget = min_tokens;
    out.step_ms = miss_ms;
  } else if (miss_n > fit_n && miss_ms > fit_ms) {
    const double frac = (target_ms - fit_ms) / (miss_ms - fit_ms);
    out.budget = fit_n + static_cast<int>(frac * (miss_n - fit_n));
    out.budget = std::max(fit_n, out.budget / 8 * 8);
    out.step_ms = target_ms;
  } else {
    out.budget = fit_n;
    out.step_ms = fit_ms;
  }
  out.budget = std::clamp(out.budget, min_tokens, max_tokens);
  out.spent_ms = ms_since(start);
  return out;
}

}  // namespace xy
