#include "engine/spec/token_trie.h"

#include "core/check.h"

namespace xy::spec {

int TokenTrie::find_child(int parent, int32_t token) const {
  // Linear: draft trees are a few dozen nodes at most.
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (parents_[i] == parent && tokens_[i] == token) return static_cast<int>(i);
  }
  return -1;
}

int TokenTrie::add_child(int parent, int32_t token) {
  XY_CHECK(parent >= -1 && parent < size());
  const int existing = find_child(parent, token);
  if (existing >= 0) return existing;
  tokens_.push_back(token);
  parents_.push_back(parent);
  return size() - 1;
}

int TokenTrie::add_path(std::span<const int32_t> tokens, int max_nodes) {
  int node = -1, added = 0;
  for (int32_t t : tokens) {
    const int child = find_child(node, t);
    if (child >= 0) {
      node = child;
      continue;
    }
    if (size() >= max_nodes) break;
    node = add_child(node, t);
    ++added;
  }
  return added;
}

bool TokenTrie::is_chain() const {
  for (size_t i = 0; i < parents_.size(); ++i) {
    if (parents_[i] != static_cast<int32_t>(i) - 1) return false;
  }
  return true;
}

}  // namespace xy::spec
