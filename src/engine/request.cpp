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
