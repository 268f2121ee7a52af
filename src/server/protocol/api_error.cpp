#include "server/protocol/api_error.h"

#include <nlohmann/json.hpp>

namespace xy::server {

std::string ApiError::to_json() const {
  nlohmann::json err = {{"message", message}, {"type", type}};
  err["param"] = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
  err["code"] = code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code);
  // replace: a message quoting the client's bytes must never make the error itself unprintable.
  return nlohmann::json{{"error", err}}.dump(-1, ' ', false,
                                             nlohmann::json::error_handler_t::replace);
}

ApiError bad_request(std::string message, std::string param, std::string code) {
  return ApiError{400, "invalid_request_error", std::move(message), std::move(param),
                  std::move(code)};
}

ApiError not_found_error(std::string message, std::string code) {
  return ApiError{404, "not_found_error", std::move(message), "", std::move(code)};
}

ApiError api_error_from_status(const Status& status, std::string param) {
  switch (status.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnsupported:
      return bad_request(status.message(), std::move(param));
    case ErrorCode::kNotFound:
      return not_found_error(status.message());
    case ErrorCode::kResourceExhausted:
      return ApiError{429, "rate_limit_error", status.message(), std::move(param), ""};
    default:
      return ApiError{500, "server_error", status.message(), std::move(param), ""};
  }
}

}  // namespace xy::server
