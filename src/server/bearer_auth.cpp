#include "server/bearer_auth.h"

namespace xy::server {

bool has_bearer_key(const HttpRequest& request, const std::string& key) {
  const std::string& auth = request.header("authorization");
  const std::string prefix = "Bearer ";
  if (auth.rfind(prefix, 0) != 0 || auth.size() - prefix.size() != key.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < key.size(); ++i)
    diff |= static_cast<unsigned char>(auth[prefix.size() + i] ^ key[i]);
  return diff == 0;
}

}  // namespace xy::server
