// Merges candidate continuations into a token tree in the layout Sequence::set_draft_tree wants:
// nodes in insertion order (parents before children), parents[i] = -1 for a child of the root (the
// sequence's last token). Shared prefixes are stored once; siblings have distinct tokens.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace xy::spec {

class TokenTrie {
 public:
  // Adds the path `tokens` below the root, reusing existing nodes, while at most max_nodes nodes
  // exist (the path is cut there). Returns the number of new nodes.
  int add_path(std::span<const int32_t> tokens, int max_nodes);
  // Adds one child (a leaf) of node `parent` (-1 = root) unless a sibling has that token; returns
  // its index or the existing sibling's.
  int add_child(int parent, int32_t token);

  int size() const { return static_cast<int>(tokens_.size()); }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  const std::vector<int32_t>& parents() const { return parents_; }
  // True when every node's parent is the previous node (a plain chain).
  bool is_chain() const;

  std::vector<int32_t> take_tokens() { return std::move(tokens_); }
  std::vector<int32_t> take_parents() { return std::move(parents_); }

 private:
  int find_child(int parent, int32_t token) const;
  std::vector<int32_t> tokens_;   // [nodes]
  std::vector<int32_t> parents_;  // [nodes]
};

}  // namespace xy::spec
