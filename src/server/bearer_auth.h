// The API-key check of `serve --api-key` and `router --api-key`: "Authorization: Bearer KEY",
// compared in constant time so that a guess learns nothing from how long the refusal took.
#pragma once

#include <string>

#include "server/http_exchange.h"

namespace xy::server {

bool has_bearer_key(const HttpRequest& request, const std::string& key);

}  // namespace xy::server
