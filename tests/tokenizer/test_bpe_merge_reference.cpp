// The O(n log n) heap merge loop against the textbook O(n^2) BPE (repeatedly merge the
// lowest-ranked adjacent pair, leftmost on ties) on Qwen3's real vocabulary and 151k merges, for
// random words of awkward lengths (1..300 characters) that form a single pre-token.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <unordered_map>

#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace xy {
namespace {

std::string pair_key(const std::string& left, const std::string& right) {
  std::string key;
  key.reserve(left.size() + right.size() + 1);
  key.append(left);
  key.push_back('\x01');
  key.append(right);
  return key;
}

struct ReferenceBpe {
  std::unordered_map<std::string, int> rank;  // "left\x01right" -> rank
  std::unordered_map<std::string, int32_t> vocab;

  std::vector<int32_t> encode(const std::string& byte_level_word) const {
    std::vector<std::string> symbols;
    for (size_t pos = 0; pos < byte_level_word.size();) {
      const size_t begin = pos;
      utf8::decode_at(byte_level_word, pos);
      symbols.push_back(byte_level_word.substr(begin, pos - begin));
    }
    while (symbols.size() > 1) {
      int best = INT32_MAX;
      size_t best_i = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        const auto it = rank.find(pair_key(symbols[i], symbols[i + 1]));
        if (it != rank.end() && it->second < best) {
          best = it->second;
          best_i = i;
        }
      }
      if (best == INT32_MAX) break;
      symbols[best_i] += symbols[best_i + 1];
      symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best_i) + 1);
    }
    std::vector<int32_t> ids;
    for (const auto& s : symbols) ids.push_back(vocab.at(s));
    return ids;
  }
};

ReferenceBpe load_reference(const std::string& name) {
  std::ifstream in(testing_util::tokenizer_dir(name) + "/tokenizer.json", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto root = nlohmann::json::parse(ss.str());
  ReferenceBpe ref;
  for (const auto& [token, id] : root["model"]["vocab"].items())
    ref.vocab[token] = id.get<int32_t>();
  int r = 0;
  for (const auto& m : root["model"]["merges"]) {
    std::string key;
    if (m.is_array()) {
      key = pair_key(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      key = pair_key(s.substr(0, space), s.substr(space + 1));
    }
    ref.rank.emplace(key, r++);
  }
  return ref;
}

TEST(BpeMergeReference, HeapLoopEqualsQuadraticReferenceOnQwen3) {
  const Tokenizer& tok = testing_util::real_tokenizer("qwen3");
  const ReferenceBpe ref = load_reference("qwen3");
  // Letters only (incl. accented Latin and Cyrillic), so " word" is a single pre-token.
  const std::vector<std::string> alphabet = {"a", "b",  "e",   "i",  "n", "o", "r", "s",
                                             "t", "th", "ing", "qu", "z", "x", "é", "ü",
                                             "ß", "д",  "ж",   "я",  "E", "T", "Q"};
  std::mt19937 rng(7);
  int checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const size_t len = trial < 2000 ? 1 + rng() % 12 : 1 + rng() % 300;
    std::string word = " ";
    for (size_t i = 0; i < len; ++i) word += alphabet[rng() % alphabet.size()];
    auto ids = tok.encode(word, false);
    ASSERT_TRUE(ids.is_ok());
    const auto want = ref.encode(byte_level::encode(word));
    ASSERT_EQ(*ids, want) << "word: '" << word << "'";
    ++checked;
  }
  EXPECT_EQ(checked, 3000);
}

}  // namespace
}  // namespace xy
