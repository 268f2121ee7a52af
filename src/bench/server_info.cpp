#include "bench/server_info.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/seconds.h"

namespace xy::bench {

Result<std::optional<int>> fetch_max_model_len(const Url& url, const std::string& model,
                                               const std::string& api_key, double timeout_s) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  std::string target = url.base_path;
  if (!target.ends_with("/v1")) target += "/v1";
  target += "/models";
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(steady_seconds(timeout_s));
    stream.connect(resolver.resolve(url.host, url.port));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, url.host + ":" + url.port);
    if (!api_key.empty()) req.set(http::field::authorization, "Bearer " + api_key);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    if (res.result_int() != 200)
      return unsupported("GET " + target + ": HTTP " + std::to_string(res.result_int()));
    nlohmann::json j = nlohmann::json::parse(res.body(), nullptr, false);
    if (j.is_discarded() || !j.contains("data") || !j["data"].is_array() || j["data"].empty())
      return std::optional<int>();
    const nlohmann::json* entry = &j["data"][0];
    for (const auto& e : j["data"])
      if (e.is_object() && e.value("id", std::string()) == model) entry = &e;
    if (!entry->is_object()) return std::optional<int>();
    auto it = entry->find("max_model_len");
    if (it == entry->end() || !it->is_number_integer() || it->get<int>() <= 0)
      return std::optional<int>();
    return std::optional<int>(it->get<int>());
  } catch (const std::exception& e) {
    return io_error("GET " + target + ": " + e.what());
  }
}

}  // namespace xy::bench
