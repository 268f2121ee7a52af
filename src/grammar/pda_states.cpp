#include "grammar/pda_states.h"

#include <algorithm>

#include "core/check.h"

namespace xy::grammar {
namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

size_t PdaStates::TopsHash::operator()(const std::vector<int32_t>& v) const {
  uint64_t h = 1469598103934665603ull;
  for (int32_t x : v) h = (h ^ static_cast<uint32_t>(x)) * 1099511628211ull;
  return static_cast<size_t>(h);
}

PdaStates::PdaStates(std::shared_ptr<const Grammar> grammar,
                     std::shared_ptr<const TokenVocabulary> vocab)
    : g_(std::move(grammar)), vocab_(std::move(vocab)) {
  std::lock_guard lock(mu_);
  for (int32_t start : g_->alternatives(g_->root())) work_.push_back({start, -1});
  initial_ = close_and_intern();
}

int32_t PdaStates::intern_node(int32_t pos, int32_t parent) {
  auto [it, inserted] =
      node_ids_.try_emplace(pair_key(pos, parent), static_cast<int32_t>(nodes_.size()));
  if (inserted) nodes_.push_back({pos, parent});
  return it->second;
}

int32_t PdaStates::close_and_intern() {
  tops_.clear();
  seen_.clear();
  seen_set_.clear();
  accepting_ = false;
  while (!work_.empty()) {
    auto [pos, parent] = work_.back();
    work_.pop_back();
    const uint64_t key = pair_key(pos, parent);
    // Most closures are small (tens of items): a linear scan beats hashing until they are not.
    if (seen_.size() < 64) {
      if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) continue;
      seen_.push_back(key);
      if (seen_.size() == 64) seen_set_.insert(seen_.begin(), seen_.end());
    } else if (!seen_set_.insert(key).second) {
      continue;
    }
    const Element& el = g_->element(pos);
    switch (el.kind) {
      case ElementKind::kBytes:
        tops_.push_back(intern_node(pos, parent));
        break;
      case ElementKind::kEnd:
        if (parent < 0) {
          accepting_ = true;
        } else {
          work_.push_back({nodes_[static_cast<size_t>(parent)].pos,
                           nodes_[static_cast<size_t>(parent)].parent});
        }
        break;
      case ElementKind::kRule: {
        // A reference in tail position returns straight to the parent: repetition does not
        // deepen the stack.
        const int32_t cont =
            g_->element(pos + 1).kind == ElementKind::kEnd ? parent : intern_node(pos + 1, parent);
        for (int32_t start : g_->alternatives(el.arg)) work_.push_back({start, cont});
        break;
      }
    }
  }
  if (tops_.empty() && !accepting_) return kDead;
  std::sort(tops_.begin(), tops_.end());
  tops_.erase(std::unique(tops_.begin(), tops_.end()), tops_.end());
  std::vector<int32_t> key = tops_;
  key.push_back(accepting_ ? -1 : -2);
  auto [it, inserted] =
      state_ids_.try_emplace(std::move(key), static_cast<int32_t>(states_.size()));
  if (inserted) {
    State s;
    s.tops = tops_;
    s.accepting = accepting_;
    states_.push_back(std::move(s));
  }
  return it->second;
}

int32_t PdaStates::next_locked(int32_t state, uint8_t byte) {
  State& s = states_[static_cast<size_t>(state)];
  if (!s.next) {
    s.next = std::make_unique<std::array<int32_t, 256>>();
    s.next->fill(kUnknown);
  }
  int32_t cached = (*s.next)[byte];
  if (cached != kUnknown) return cached;
  for (int32_t n : s.tops) {
    const Node node = nodes_[static_cast<size_t>(n)];
    if (g_->byte_set(g_->element(node.pos).arg).has(byte))
      work_.push_back({node.pos + 1, node.parent});
  }
  const int32_t result = work_.empty() ? kDead : close_and_intern();
  // close_and_intern may grow states_: index again.
  (*states_[static_cast<size_t>(state)].next)[byte] = result;
  return result;
}

int32_t PdaStates::next(int32_t state, uint8_t byte) {
  std::lock_guard lock(mu_);
  return next_locked(state, byte);
}

int32_t PdaStates::next(int32_t state, std::string_view bytes) {
  std::lock_guard lock(mu_);
  for (char c : bytes) {
    if (state == kDead) break;
    state = next_locked(state, static_cast<uint8_t>(c));
  }
  return state;
}

bool PdaStates::accepting(int32_t state) const {
  std::lock_guard lock(mu_);
  return states_[static_cast<size_t>(state)].accepting;
}

bool PdaStates::finished(int32_t state) const {
  std::lock_guard lock(mu_);
  return states_[static_cast<size_t>(state)].tops.empty();
}

bool PdaStates::has_mask(int32_t state) const {
  std::lock_guard lock(mu_);
  return states_[static_cast<size_t>(state)].mask != nullptr;
}

size_t PdaStates::num_states() const {
  std::lock_guard lock(mu_);
  return states_.size();
}

std::shared_ptr<const std::vector<uint32_t>> PdaStates::token_mask(int32_t state) {
  std::lock_guard lock(mu_);
  if (auto m = states_[static_cast<size_t>(state)].mask) return m;
  auto mask =
      std::make_shared<std::vector<uint32_t>>((static_cast<size_t>(vocab_->size()) + 31) / 32, 0u);
  const std::vector<int32_t>& sorted = vocab_->sorted();
  const std::vector<int32_t>& shared = vocab_->shared_prefix();
  std::vector<int32_t> path{state};  // path[d]: the state after the first d bytes
  size_t valid = 0;                  // path[0..valid] hold for the current token's prefix
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string_view bytes = vocab_->bytes(sorted[i]);
    size_t d = std::min(valid, static_cast<size_t>(shared[i]));
    if (path.size() < bytes.size() + 1) path.resize(bytes.size() + 1);
    while (d < bytes.size()) {
      const int32_t s = next_locked(path[d], static_cast<uint8_t>(bytes[d]));
      if (s == kDead) break;
      path[++d] = s;
    }
    valid = d;
    if (d == bytes.size()) {
      const auto id = static_cast<uint32_t>(sorted[i]);
      (*mask)[id >> 5] |= 1u << (id & 31);
    } else {
      // Every following token that shares bytes[0..d] dies at the same byte.
      while (i + 1 < sorted.size() && static_cast<size_t>(shared[i + 1]) > d) ++i;
    }
  }
  states_[static_cast<size_t>(state)].mask = mask;
  return mask;
}

std::string PdaStates::forced_bytes(int32_t state) {
  std::lock_guard lock(mu_);
  const int32_t start = state;
  if (const auto& cached = states_[static_cast<size_t>(start)].forced) return *cached;
  std::string out;
  constexpr size_t kMaxForced = 4096;
  while (state != kDead && out.size() < kMaxForced) {
    const State& s = states_[static_cast<size_t>(state)];
    if (s.accepting || s.tops.empty()) break;
    ByteSet allowed;
    for (int32_t n : s.tops)
      allowed.merge(g_->byte_set(g_->element(nodes_[static_cast<size_t>(n)].pos).arg));
    if (allowed.count() != 1) break;
    int b = 0;
    while (!allowed.has(static_cast<uint8_t>(b))) ++b;
    out += static_cast<char>(b);
    state = next_locked(state, static_cast<uint8_t>(b));
  }
  states_[static_cast<size_t>(start)].forced = out;
  return out;
}

}  // namespace xy::grammar
