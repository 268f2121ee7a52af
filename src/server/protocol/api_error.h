// OpenAI error objects: what every failed request gets back, with the HTTP status that the
// official SDKs map to their error classes (400 BadRequestError, 401 AuthenticationError,
// 404 NotFoundError, 429 RateLimitError, 5xx InternalServerError, other codes APIError).
#pragma once

#include <string>

#include "core/status.h"

namespace xy::server {

struct ApiError {
  int http_status = 400;
  std::string type = "invalid_request_error";  // OpenAI's error.type
  std::string message;
  std::string param;  // the offending request field; "" when none applies
  std::string code;   // machine-readable reason; "" -> JSON null

  // {"error":{"message":..,"type":..,"param":..,"code":..}}
  std::string to_json() const;
};

ApiError bad_request(std::string message, std::string param = "", std::string code = "");
ApiError not_found_error(std::string message, std::string code = "not_found");
// A Status from a lower layer as the matching HTTP error (kInvalidArgument -> 400,
// kResourceExhausted -> 429, kNotFound -> 404, anything else -> 500).
ApiError api_error_from_status(const Status& status, std::string param = "");

}  // namespace xy::server
