// Construct-by-construct parity with @huggingface/jinja: each case in
// testdata/chat_template/features/features.json is a small template (whitespace control,
// loops, set/namespace, macros, filters, tests, operators, literals, slices, methods, tojson,
// strftime_now) or a seeded random input (string methods, integer and float arithmetic,
// nested JSON through tojson), with the reference's output. Made by
// tools/chat-template-golden/make_feature_golden.mjs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"

namespace {

nlohmann::ordered_json load_features() {
  std::ifstream in(std::string(XY_TESTDATA_DIR) + "/chat_template/features/features.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::ordered_json::parse(ss.str());
}

TEST(JinjaFeaturesGolden, EveryCaseMatchesReference) {
  const auto doc = load_features();
  const std::time_t now = doc.at("now_epoch_seconds").get<std::time_t>();
  ASSERT_GE(doc.at("cases").size(), 200u);
  int matched = 0;
  for (const auto& c : doc.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    const std::string source = c.at("template").get<std::string>();
    SCOPED_TRACE(name + ": " + source);
    auto tpl = xy::ChatTemplate::parse(source);
    if (c.contains("expected_error")) {
      if (tpl.is_ok()) {
        xy::ChatTemplateOptions opts;
        opts.extra_context = c.at("context");
        opts.clock = [now] { return now; };
        EXPECT_FALSE(tpl->render(nlohmann::ordered_json::array(), opts).is_ok())
            << "reference failed with: " << c.at("expected_error").get<std::string>();
      }
      continue;
    }
    if (!tpl.is_ok()) {
      ADD_FAILURE() << tpl.status().to_string();
      continue;
    }
    xy::ChatTemplateOptions opts;
    opts.extra_context = c.at("context");
    opts.clock = [now] { return now; };
    const auto out = tpl->render(nlohmann::ordered_json::array(), opts);
    if (!out.is_ok()) {
      ADD_FAILURE() << out.status().to_string();
      continue;
    }
    EXPECT_EQ(*out, c.at("expected").get<std::string>());
    ++matched;
  }
  EXPECT_GT(matched, 200);
}

}  // namespace
