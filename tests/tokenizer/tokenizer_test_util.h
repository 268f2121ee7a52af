// Shared helpers for the tokenizer tests: the committed real tokenizers and their golden strings.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace xy::testing_util {

inline std::string tokenizer_dir(const std::string& name) {
  return std::string(XY_TESTDATA_DIR) + "/tokenizer/" + name;
}

// Loaded once per process and shared (the Gemma-3 file is 33 MB).
inline const Tokenizer& real_tokenizer(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[name];
  if (!slot) {
    auto loaded = Tokenizer::load_dir(tokenizer_dir(name));
    if (!loaded.is_ok()) {
      std::fprintf(stderr, "cannot load %s: %s\n", name.c_str(),
                   loaded.status().to_string().c_str());
      std::abort();
    }
    slot = std::move(loaded).value();
  }
  return *slot;
}

inline std::vector<std::string> golden_texts(const std::string& name) {
  std::ifstream in(tokenizer_dir(name) + "/golden.json", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json golden = nlohmann::json::parse(ss.str());
  std::vector<std::string> out;
  for (const auto& c : golden.at("cases")) out.push_back(c.at("text").get<std::string>());
  if (out.empty()) {
    std::fprintf(stderr, "no golden strings for %s\n", name.c_str());
    std::abort();
  }
  return out;
}

}  // namespace xy::testing_util
