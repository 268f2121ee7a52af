#include "engine/sampling/sampling_params.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace xy {
namespace {

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// NaN fails every comparison, so each check is written as "!(valid)" to reject NaN too.
Status out_of_range(const char* field, double value, const char* expected) {
  return invalid_argument(std::string("sampling parameter '") + field + "' = " + fmt(value) +
                          " is out of range: expected " + expected);
}

}  // namespace

Status SamplingParams::validate() const {
  if (!(temperature >= 0.0f) || std::isinf(temperature))
    return out_of_range("temperature", temperature, "a finite value >= 0 (0 = greedy)");
  if (!(top_p > 0.0f && top_p <= 1.0f)) return out_of_range("top_p", top_p, "(0, 1]");
  if (!(top_k == 0 || top_k == -1 || top_k >= 1))
    return out_of_range("top_k", top_k, "0 or -1 (off) or an integer >= 1");
  if (!(min_p >= 0.0f && min_p <= 1.0f)) return out_of_range("min_p", min_p, "[0, 1]");
  if (!(repetition_penalty > 0.0f) || std::isinf(repetition_penalty))
    return out_of_range("repetition_penalty", repetition_penalty, "a finite value > 0 (1 = off)");
  if (!(presence_penalty >= -2.0f && presence_penalty <= 2.0f))
    return out_of_range("presence_penalty", presence_penalty, "[-2, 2]");
  if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f))
    return out_of_range("frequency_penalty", frequency_penalty, "[-2, 2]");
  for (const auto& [token, bias] : logit_bias) {
    if (!(bias >= -100.0f && bias <= 100.0f)) {
      return invalid_argument("sampling parameter 'logit_bias' for token " + std::to_string(token) +
                              " = " + fmt(bias) + " is out of range: expected [-100, 100]");
    }
  }
  if (!(logprobs >= 0 && logprobs <= kMaxLogprobs))
    return out_of_range("logprobs", logprobs, "an integer in [0, 20]");
  return Status::ok();
}

Status SamplingParams::validate_token_ids(int vocab_size) const {
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || token >= vocab_size) {
      return invalid_argument("sampling parameter 'logit_bias' names token " +
                              std::to_string(token) + ", outside the vocabulary [0, " +
                              std::to_string(vocab_size) + ")");
    }
  }
  for (size_t i = 0; i < allowed_token_ids.size(); ++i) {
    const int32_t token = allowed_token_ids[i];
    if (token < 0 || token >= vocab_size) {
      return invalid_argument("sampling parameter 'allowed_token_ids[" + std::to_string(i) +
                              "]' = " + std::to_string(token) + " is outside the vocabulary [0, " +
                              std::to_string(vocab_size) + ")");
    }
  }
  return Status::ok();
}

}  // namespace xy
