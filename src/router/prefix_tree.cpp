#include "router/prefix_tree.h"

#include <algorithm>

namespace xy::router {

PrefixTree::PrefixTree(size_t max_bytes_per_tenant)
    : max_bytes_per_tenant_(std::max<size_t>(max_bytes_per_tenant, 1)),
      root_(std::make_unique<Node>()) {}

PrefixTree::~PrefixTree() = default;

namespace {

size_t common_prefix(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

bool allowed_in(const std::vector<ReplicaId>& allowed, ReplicaId r) {
  return std::find(allowed.begin(), allowed.end(), r) != allowed.end();
}

}  // namespace

PrefixMatch PrefixTree::match(std::string_view key, const std::vector<ReplicaId>& allowed) const {
  std::lock_guard lock(mu_);
  PrefixMatch best;
  const Node* node = root_.get();
  size_t depth = 0;
  while (depth < key.size()) {
    auto it = node->children.find(static_cast<unsigned char>(key[depth]));
    if (it == node->children.end()) break;
    const Node* child = it->second.get();
    // Tenants mark whole paths, so a child with an allowed tenant has that tenant above too:
    // the deepest such child decides.
    ReplicaId pick = -1;
    uint64_t newest = 0;
    for (const auto& [r, t] : child->tenants) {
      if (!allowed_in(allowed, r)) continue;
      if (pick < 0 || t > newest || (t == newest && r < pick)) pick = r, newest = t;
    }
    if (pick < 0) break;
    const size_t common = common_prefix(child->edge, key.substr(depth));
    best = PrefixMatch{pick, depth + common};
    if (common < child->edge.size()) break;
    depth += common;
    node = child;
  }
  return best;
}

void PrefixTree::insert(std::string_view key, ReplicaId replica) {
  std::lock_guard lock(mu_);
  const uint64_t now = ++clock_;
  Node* node = root_.get();
  size_t depth = 0;
  size_t added = 0;
  while (depth < key.size()) {
    const unsigned char c = static_cast<unsigned char>(key[depth]);
    auto it = node->children.find(c);
    if (it == node->children.end()) {
      auto leaf = std::make_unique<Node>();
      leaf->edge = std::string(key.substr(depth));
      leaf->parent = node;
      leaf->tenants[replica] = now;
      added += leaf->edge.size();
      node->children.emplace(c, std::move(leaf));
      ++num_nodes_;
      break;
    }
    Node* child = it->second.get();
    const size_t common = common_prefix(child->edge, key.substr(depth));
    if (common < child->edge.size()) {
      // Split the edge: the new middle node inherits the child's tenants (they cover it).
      auto middle = std::make_unique<Node>();
      middle->edge = child->edge.substr(0, common);
      middle->parent = node;
      middle->tenants = child->tenants;
      std::unique_ptr<Node> owned = std::move(it->second);
      owned->edge.erase(0, common);
      owned->parent = middle.get();
      middle->children.emplace(static_cast<unsigned char>(owned->edge[0]), std::move(owned));
      it->second = std::move(middle);
      child = it->second.get();
      ++num_nodes_;
    }
    if (child->tenants.emplace(replica, now).second) {
      added += child->edge.size();
    } else {
      child->tenants[replica] = now;
    }
    depth += common;
    node = child;
  }
  size_t& bytes = tenant_bytes_[replica];
  bytes += added;
  if (bytes > max_bytes_per_tenant_) evict(replica);
}

void PrefixTree::collect_tenant_leaves(Node* node, ReplicaId replica,
                                       std::vector<Node*>& out) const {
  bool child_has = false;
  for (auto& [c, child] : node->children) {
    if (child->tenants.count(replica)) {
      child_has = true;
      collect_tenant_leaves(child.get(), replica, out);
    }
  }
  if (!child_has && node != root_.get() && node->tenants.count(replica)) out.push_back(node);
}

void PrefixTree::drop_tenant(Node* node, ReplicaId replica) {
  if (node->tenants.erase(replica) == 0) return;
  tenant_bytes_[replica] -= std::min(tenant_bytes_[replica], node->edge.size());
}

// Removes the node if no tenant references it and it has no children, then its parent likewise.
void PrefixTree::prune(Node* node) {
  while (node != root_.get() && node->tenants.empty() && node->children.empty()) {
    Node* parent = node->parent;
    parent->children.erase(static_cast<unsigned char>(node->edge[0]));
    --num_nodes_;
    node = parent;
  }
}

void PrefixTree::evict(ReplicaId replica) {
  // Least recently routed leaves first; a parent becomes a leaf once its children are gone.
  while (tenant_bytes_[replica] > max_bytes_per_tenant_) {
    std::vector<Node*> leaves;
    collect_tenant_leaves(root_.get(), replica, leaves);
    if (leaves.empty()) break;
    std::sort(leaves.begin(), leaves.end(), [&](const Node* a, const Node* b) {
      return a->tenants.at(replica) < b->tenants.at(replica);
    });
    for (Node* leaf : leaves) {
      if (tenant_bytes_[replica] <= max_bytes_per_tenant_) break;
      drop_tenant(leaf, replica);
      prune(leaf);
    }
  }
}

void PrefixTree::remove_tenant(ReplicaId replica) {
  std::lock_guard lock(mu_);
  std::vector<Node*> leaves;
  while (true) {
    leaves.clear();
    collect_tenant_leaves(root_.get(), replica, leaves);
    if (leaves.empty()) break;
    for (Node* leaf : leaves) {
      drop_tenant(leaf, replica);
      prune(leaf);
    }
  }
  tenant_bytes_.erase(replica);
}

size_t PrefixTree::tenant_bytes(ReplicaId replica) const {
  std::lock_guard lock(mu_);
  auto it = tenant_bytes_.find(replica);
  return it == tenant_bytes_.end() ? 0 : it->second;
}

size_t PrefixTree::num_nodes() const {
  std::lock_guard lock(mu_);
  return num_nodes_;
}

}  // namespace xy::router
