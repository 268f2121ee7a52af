#include "server/web_assets.h"

#include <cstdint>
#include <cstdio>
#include <vector>

#include "server/embedded_file.h"
#include "server/protocol/api_error.h"

namespace xy::server {
namespace {

std::string content_type_for(std::string_view name) {
  struct Type {
    std::string_view ext, type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".json", "application/json; charset=utf-8"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const Type& t : kTypes) {
    if (name.size() >= t.ext.size() && name.substr(name.size() - t.ext.size()) == t.ext)
      return std::string(t.type);
  }
  return "application/octet-stream";
}

std::string etag_of(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: a cache validator, not a security measure
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  char buf[24];
  std::snprintf(buf, sizeof(buf), "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

const std::vector<WebAsset>& assets() {
  static const std::vector<WebAsset> table = [] {
    std::vector<WebAsset> v;
    for (size_t i = 0; i < detail::kNumEmbeddedFiles; ++i) {
      const detail::EmbeddedFile& f = detail::kEmbeddedFiles[i];
      std::string_view body(reinterpret_cast<const char*>(f.data), f.size);
      v.push_back(WebAsset{f.name, content_type_for(f.name), body, etag_of(body)});
    }
    return v;
  }();
  return table;
}

const WebAsset* by_name(std::string_view name) {
  for (const WebAsset& a : assets())
    if (a.name == name) return &a;
  return nullptr;
}

constexpr std::string_view kAssetPrefix = "/assets/";

}  // namespace

bool is_web_path(std::string_view path) {
  return path == "/" || path == "/index.html" || path == "/favicon.ico" ||
         path.substr(0, kAssetPrefix.size()) == kAssetPrefix;
}

const WebAsset* find_web_asset(std::string_view path) {
  if (path == "/" || path == "/index.html") return by_name("index.html");
  if (path == "/favicon.ico") return by_name("favicon.svg");
  if (path.substr(0, kAssetPrefix.size()) != kAssetPrefix) return nullptr;
  std::string_view name = path.substr(kAssetPrefix.size());
  // The table is flat; rejecting separators here keeps that true whatever its contents.
  if (name.empty() || name.find_first_of("/\\%") != std::string_view::npos || name[0] == '.')
    return nullptr;
  return by_name(name);
}

HttpResponse web_asset_response(const HttpRequest& request) {
  const WebAsset* asset = find_web_asset(request.target);
  if (!asset) {
    ApiError e = not_found_error("no page or asset at " + request.target);
    HttpResponse r;
    r.status = e.http_status;
    r.body = e.to_json();
    return r;
  }
  HttpResponse r;
  r.content_type = asset->content_type;
  // Revalidate every time (a new binary may bring a new page); 304 keeps that cheap.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("ETag", asset->etag);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  // The page loads nothing from elsewhere; model output rendered into it can never fetch or run
  // anything either.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self' "
                         "'unsafe-inline'; object-src 'none'; base-uri 'none'; "
                         "frame-ancestors 'none'; form-action 'none'");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (request.header("if-none-match") == asset->etag) {
    r.status = 304;
    return r;
  }
  r.body = std::string(asset->body);
  return r;
}

size_t num_web_assets() {
  return assets().size();
}

}  // namespace xy::server
