// What the target server says about itself before a run (GET /v1/models): the context length
// that vLLM and xyserve report as data[0].max_model_len, so prompts longer than the model
// accepts are clamped instead of failing with 400.
#pragma once

#include <optional>
#include <string>

#include "bench/openai_protocol.h"
#include "core/status.h"

namespace xy::bench {

// data[i].max_model_len of the entry whose id is `model` (else of the first entry); nullopt
// when the server does not report one. Errors: transport failures and non-200 answers.
Result<std::optional<int>> fetch_max_model_len(const Url& url, const std::string& model,
                                               const std::string& api_key, double timeout_s);

}  // namespace xy::bench
