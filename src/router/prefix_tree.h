// Which replica probably holds a prompt's prefix in its KV cache: a radix tree over the bytes of
// the routing keys the router has sent, each node tagged with the replicas ("tenants") it was
// routed to and when. A replica's prefix cache keeps recently used prefixes, so the tree keeps a
// bounded number of bytes per tenant and evicts that tenant's least recently routed leaves
// first (SGLang's cache-aware router keeps the same approximation of its workers' caches).
//
// Thread-safe: every method takes the tree's mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace xy::router {

using ReplicaId = int;

struct PrefixMatch {
  ReplicaId replica = -1;  // -1: no allowed replica holds even one byte of the key
  size_t matched_bytes = 0;
};

class PrefixTree {
 public:
  // Each tenant's share of the tree is kept at most this many key bytes.
  explicit PrefixTree(size_t max_bytes_per_tenant = 8u << 20);
  ~PrefixTree();

  // The allowed replica holding the longest prefix of `key` (ties: the most recently routed).
  PrefixMatch match(std::string_view key, const std::vector<ReplicaId>& allowed) const;
  // Records that `key` was routed to `replica` (now is a logical clock; larger = more recent).
  void insert(std::string_view key, ReplicaId replica);
  // Forgets a replica (removed, or restarted with an empty cache).
  void remove_tenant(ReplicaId replica);
  // Key bytes attributed to a tenant (nodes on its paths).
  size_t tenant_bytes(ReplicaId replica) const;
  size_t num_nodes() const;

 private:
  struct Node {
    std::string edge;  // bytes from the parent to this node
    Node* parent = nullptr;
    std::map<unsigned char, std::unique_ptr<Node>> children;
    std::unordered_map<ReplicaId, uint64_t> tenants;  // replica -> last routed (clock)
  };
  void evict(ReplicaId replica);
  void drop_tenant(Node* node, ReplicaId replica);
  void collect_tenant_leaves(Node* node, ReplicaId replica, std::vector<Node*>& out) const;
  void prune(Node* node);

  size_t max_bytes_per_tenant_;
  mutable std::mutex mu_;
  std::unique_ptr<Node> root_;
  std::unordered_map<ReplicaId, size_t> tenant_bytes_;
  uint64_t clock_ = 0;
  size_t num_nodes_ = 1;
};

}  // namespace xy::router
