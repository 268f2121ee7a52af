#include "grammar/token_vocabulary.h"

#include <algorithm>

#include "tokenizer/tokenizer.h"

namespace xy::grammar {

std::shared_ptr<const TokenVocabulary> TokenVocabulary::from_tokenizer(const Tokenizer& tokenizer,
                                                                       int vocab_size) {
  auto v = std::make_shared<TokenVocabulary>();
  v->bytes_.resize(static_cast<size_t>(std::max(vocab_size, 0)));
  for (int32_t id = 0; id < vocab_size; ++id) {
    if (auto b = tokenizer.token_bytes(id)) v->bytes_[static_cast<size_t>(id)] = std::move(*b);
  }
  v->index();
  return v;
}

std::shared_ptr<const TokenVocabulary> TokenVocabulary::from_bytes(
    std::vector<std::string> tokens) {
  auto v = std::make_shared<TokenVocabulary>();
  v->bytes_ = std::move(tokens);
  v->index();
  return v;
}

void TokenVocabulary::index() {
  sorted_.clear();
  for (size_t id = 0; id < bytes_.size(); ++id) {
    if (!bytes_[id].empty()) sorted_.push_back(static_cast<int32_t>(id));
  }
  std::sort(sorted_.begin(), sorted_.end(), [&](int32_t a, int32_t b) {
    const std::string& x = bytes_[static_cast<size_t>(a)];
    const std::string& y = bytes_[static_cast<size_t>(b)];
    return x != y ? x < y : a < b;
  });
  shared_prefix_.assign(sorted_.size(), 0);
  for (size_t i = 1; i < sorted_.size(); ++i) {
    const std::string& x = bytes_[static_cast<size_t>(sorted_[i - 1])];
    const std::string& y = bytes_[static_cast<size_t>(sorted_[i])];
    const size_t n = std::min(x.size(), y.size());
    size_t k = 0;
    while (k < n && x[k] == y[k]) ++k;
    shared_prefix_[i] = static_cast<int32_t>(k);
  }
}

}  // namespace xy::grammar
