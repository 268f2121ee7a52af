// The web page of `xyserve serve` (a chat view and a live dashboard), served from files compiled
// into the binary (web/ at build time, see cmake/embed_files.cmake): no files, CDN or network are
// needed at run time, and no path can reach the file system.
//
//   GET /                 web/index.html
//   GET /assets/<name>    web/<name> (a flat folder)
//   GET /favicon.ico      web/favicon.svg, for browsers that ask before reading the page
//
// Thread-safe: the table is built once and read-only afterwards.
#pragma once

#include <string>
#include <string_view>

#include "server/http_exchange.h"

namespace xy::server {

struct WebAsset {
  std::string name;          // relative to web/
  std::string content_type;  // from the extension
  std::string_view body;     // the embedded bytes (static storage)
  std::string etag;          // strong validator: a hash of the bytes, quoted
};

// True for the paths this module answers (so the router sends them here, 404 included).
bool is_web_path(std::string_view path);

// The asset a request path names, or nullptr. Only exact names from the table match: "..",
// percent escapes, subfolders or a trailing slash never resolve to anything.
const WebAsset* find_web_asset(std::string_view path);

// 200 with the asset (304 when If-None-Match matches), 404 as an OpenAI error object for an
// unknown path. The caller has checked the method (GET or HEAD).
HttpResponse web_asset_response(const HttpRequest& request);

// Every embedded asset (for tests and the startup log).
size_t num_web_assets();

}  // namespace xy::server
