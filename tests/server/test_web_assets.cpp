// The embedded web page: every file of web/ is in the binary with the right content type, and
// the routes serve it without ever reaching the file system (traversal and unknown paths: 404).
#include "server/web_assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/openai_service.h"

namespace xy::server {
namespace {

class RecordingSink : public ResponseSink {
 public:
  void send(HttpResponse r) override { response = std::move(r); }
  void start_stream() override {}
  bool event(const std::string&) override { return true; }
  void end_stream() override {}
  void on_disconnect(std::function<void()>) override {}
  bool client_gone() const override { return false; }
  HttpResponse response;
};

std::string read_source_file(const std::string& name) {
  std::ifstream in(std::string(XY_SOURCE_DIR) + "/web/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpRequest get(const std::string& target) {
  HttpRequest r;
  r.method = "GET";
  r.target = target;
  return r;
}

TEST(WebAssets, IndexAndEveryScriptAndStyleAreEmbeddedByteForByte) {
  ASSERT_GE(num_web_assets(), 3u);
  const WebAsset* index = find_web_asset("/");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->name, "index.html");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index->body, read_source_file("index.html"));
  for (const char* name : {"app.js", "style.css", "favicon.svg"}) {
    const WebAsset* a = find_web_asset(std::string("/assets/") + name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->body, read_source_file(name)) << name;
  }
  EXPECT_EQ(find_web_asset("/assets/app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_web_asset("/assets/style.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(find_web_asset("/favicon.ico")->content_type, "image/svg+xml");
}

TEST(WebAssets, TraversalEscapesSubfoldersAndUnknownNamesResolveToNothing) {
  for (const char* path :
       {"/assets/../CMakeLists.txt", "/assets/..%2f..%2fetc%2fpasswd", "/assets/%2e%2e/index.html",
        "/assets//app.js", "/assets/", "/assets/sub/app.js", "/assets/.hidden", "/assets/nope.js",
        "/assets/app.js/", "/assets\\app.js", "/index.htm", "/assets/index.html/../app.js"}) {
    EXPECT_EQ(find_web_asset(path), nullptr) << path;
  }
}

TEST(WebAssets, ResponsesCarryValidatorsAndA304ForAFreshCopy) {
  HttpResponse r = web_asset_response(get("/assets/app.js"));
  EXPECT_EQ(r.status, 200);
  std::string etag;
  bool csp = false;
  for (const auto& [k, v] : r.headers) {
    if (k == "ETag") etag = v;
    if (k == "Content-Security-Policy") csp = v.find("default-src 'self'") != std::string::npos;
  }
  ASSERT_FALSE(etag.empty());
  EXPECT_TRUE(csp);
  HttpRequest again = get("/assets/app.js");
  again.headers.emplace_back("if-none-match", etag);
  HttpResponse cached = web_asset_response(again);
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  HttpResponse missing = web_asset_response(get("/assets/../../etc/passwd"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"error\""), std::string::npos);
}

TEST(WebAssets, TheServiceServesThePageBeforeTheModelIsLoadedAndWithoutAKey) {
  ServiceOptions o;
  o.served_model_name = "m";
  o.api_key = "secret";
  OpenAIService service(o);
  auto sink = std::make_shared<RecordingSink>();
  service.handle(get("/"), sink);
  EXPECT_EQ(sink->response.status, 200);
  EXPECT_NE(sink->response.body.find("<html"), std::string::npos);

  sink = std::make_shared<RecordingSink>();
  service.handle(get("/assets/../secret"), sink);
  EXPECT_EQ(sink->response.status, 404);

  sink = std::make_shared<RecordingSink>();
  HttpRequest post = get("/");
  post.method = "POST";
  service.handle(post, sink);
  EXPECT_EQ(sink->response.status, 405);

  // The dashboard's JSON needs the engine: 503 while loading, like /metrics.
  sink = std::make_shared<RecordingSink>();
  service.handle(get("/stats"), sink);
  EXPECT_EQ(sink->response.status, 503);
}

}  // namespace
}  // namespace xy::server
