#include "engine/request.h"

#include <string>

namespace xy {

Status validate_request(const Request& request, int vocab_size) {
  const std::string who = "request " + std::to_string(request.id);
  if (request.prompt_tokens.empty()) return invalid_argument(who + ": empty prompt");
  if (request.max_output_tokens < 1) {
    return invalid_argument(who + ": max_output_tokens must be >= 1, got " +
                            std::to_string(request.max_output_tokens));
  }
  if (request.generated_tokens.size() >= static_cast<size_t>(request.max_output_tokens)) {
    return invalid_argument(who + ": " + std::to_string(request.generated_tokens.size()) +
                            " tokens already generated leave none of max_output_tokens " +
                            std::to_string(request.max_output_tokens));
  }
  const size_t total = request.prompt_tokens.size() + request.generated_tokens.size();
  if (request.num_imported_kv_tokens < 0 ||
      static_cast<size_t>(request.num_imported_kv_tokens) >= total) {
    return invalid_argument(who + ": " + std::to_string(request.num_imported_kv_tokens) +
                            " imported K/V positions for " + std::to_string(total) +
                            " tokens (the last token must be computed)");
  }
  for (int32_t token : request.generated_tokens) {
    if (token < 0 || (vocab_size > 0 && token >= vocab_size))
      return invalid_argument(who + ": generated token " + std::to_string(token) +
                              " outside the vocabulary");
  }
  for (size_t i = 0; i < request.prompt_tokens.size(); ++i) {
    const int32_t token = request.prompt_tokens[i];
    if (token < 0 || (vocab_size > 0 && token >= vocab_size)) {
      return invalid_argument(who + ": prompt token " + std::to_string(i) + " is " +
                              std::to_string(token) + ", outside the vocabulary [0, " +
                              std::to_string(vocab_size) + ")");
    }
  }
  return Status::ok();
}

}  // namespace xy
