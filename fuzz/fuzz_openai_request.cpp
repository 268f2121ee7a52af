// libFuzzer driver for the OpenAI request parser (src/server/protocol): every endpoint's parser
// must turn any byte string into either a native request or a 400 ApiError whose JSON renders,
// without crashing, hanging or leaking. The first byte picks the endpoint.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/check.h"
#include "server/protocol/openai_request.h"

namespace {

template <class T>
void check(const xy::server::Parsed<T>& p) {
  if (const auto* e = std::get_if<xy::server::ApiError>(&p)) {
    XY_CHECK(e->http_status == 400);
    XY_CHECK(!e->message.empty());
    XY_CHECK(!e->to_json().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto p = xy::server::parse_completion_request(body);
      check(p);
      if (auto* r = std::get_if<xy::server::CompletionRequest>(&p)) {
        XY_CHECK(!r->prompts.empty());
        XY_CHECK(r->gen.sampling.validate().is_ok());
      }
      break;
    }
    case 1: {
      auto p = xy::server::parse_chat_completion_request(body);
      check(p);
      if (auto* r = std::get_if<xy::server::ChatCompletionRequest>(&p)) {
        XY_CHECK(!r->messages.empty());
        XY_CHECK(r->gen.sampling.validate().is_ok());
        (void)r->messages.dump();
      }
      break;
    }
    case 2:
      check(xy::server::parse_tokenize_request(body));
      break;
    default:
      check(xy::server::parse_detokenize_request(body));
      break;
  }
  return 0;
}
