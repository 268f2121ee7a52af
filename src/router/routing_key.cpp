#include "router/routing_key.h"

#include <nlohmann/json.hpp>

namespace xy::router {

namespace {

// Text of a message's content: a string, or the text parts of a content array.
void append_content(const nlohmann::json& content, std::string& out) {
  if (content.is_string()) {
    out += content.get_ref<const std::string&>();
  } else if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.contains("text") && part["text"].is_string())
        out += part["text"].get_ref<const std::string&>();
    }
  } else if (!content.is_null()) {
    out += content.dump();
  }
}

bool splittable(const nlohmann::json& j, bool chat) {
  if (auto n = j.find("n"); n != j.end() && !(n->is_number_integer() && *n == 1)) return false;
  if (auto e = j.find("echo"); e != j.end() && e->is_boolean() && e->get<bool>()) return false;
  if (auto lp = j.find("logprobs"); lp != j.end() && !lp->is_null() && !(lp->is_boolean() && !*lp))
    return false;
  if (j.contains("kv_transfer_params")) return false;  // the client drives it itself
  if (!chat) {
    auto p = j.find("prompt");
    if (p == j.end()) return false;
    // One prompt: a string, a list of token ids, or a list holding one of those.
    if (p->is_array() && !p->empty() && !(*p)[0].is_number_integer() && p->size() != 1)
      return false;
  }
  return true;
}

}  // namespace

Result<RoutedRequest> read_routed_request(std::string_view body, bool chat) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return invalid_argument("the request body must be a JSON object");
  RoutedRequest r;
  if (auto it = j.find("stream"); it != j.end() && it->is_boolean()) r.stream = it->get<bool>();
  std::string& key = r.key;
  if (chat) {
    if (auto it = j.find("messages"); it != j.end() && it->is_array()) {
      for (const auto& m : *it) {
        if (!m.is_object()) continue;
        if (auto role = m.find("role"); role != m.end() && role->is_string())
          key += role->get_ref<const std::string&>();
        key += '\x1f';  // separators that chat text does not contain
        if (auto c = m.find("content"); c != m.end()) append_content(*c, key);
        key += '\x1e';
        if (key.size() >= kMaxRoutingKeyBytes) break;
      }
    }
  } else if (auto it = j.find("prompt"); it != j.end()) {
    if (it->is_string()) {
      key = it->get<std::string>();
    } else if (it->is_array() && !it->empty() && (*it)[0].is_string()) {
      key = (*it)[0].get<std::string>();
    } else {
      key = it->dump();  // token ids: their decimal text shares prefixes exactly as the ids do
    }
  }
  if (key.size() > kMaxRoutingKeyBytes) key.resize(kMaxRoutingKeyBytes);
  r.splittable = splittable(j, chat);
  r.body = std::move(j);
  return r;
}

}  // namespace xy::router
