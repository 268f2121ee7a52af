// The pushdown automaton of a Grammar, built lazily: its states are sets of parser stacks.
//
// A stack is a chain of positions (top: the byte-set element to match next; below it, where to
// continue when the rule under it ends); chains are interned as (position, parent) nodes, so a
// stack is one node id and equal stacks are equal ids. A state is the sorted set of stack tops
// after the closure (every rule reference expanded, every finished rule popped) plus whether the
// input may end here. States are interned too, and each keeps a 256-entry transition row filled
// on demand and, at token boundaries, its token mask: in a JSON string the state after any
// ordinary character is the same state, so masks and transitions are computed once and reused
// by every request on the same grammar.
//
// Thread-safety: every method locks the space's mutex (the engine thread and a mask worker may
// share it); ids stay valid for the space's life.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/token_vocabulary.h"

namespace xy::grammar {

class PdaStates {
 public:
  static constexpr int32_t kDead = -1;

  PdaStates(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenVocabulary> vocab);

  int32_t initial() const { return initial_; }
  // The state after `byte`, or kDead.
  int32_t next(int32_t state, uint8_t byte);
  // The state after `bytes`, or kDead.
  int32_t next(int32_t state, std::string_view bytes);
  // The input may end in this state (the root rule can be complete).
  bool accepting(int32_t state) const;
  // No byte can follow: only the end of input is left.
  bool finished(int32_t state) const;
  // Bits (ceil(vocab / 32) words) of the tokens whose bytes the state accepts.
  std::shared_ptr<const std::vector<uint32_t>> token_mask(int32_t state);
  bool has_mask(int32_t state) const;
  // The bytes every continuation must start with: the longest run of single-byte choices from
  // `state` that never passes an accepting state (jump-forward text). Cached per state: the
  // engine asks for it every step.
  std::string forced_bytes(int32_t state);

  size_t num_states() const;
  const TokenVocabulary& vocabulary() const { return *vocab_; }

 private:
  struct Node {
    int32_t pos, parent;
  };
  struct State {
    std::vector<int32_t> tops;  // node ids, sorted
    bool accepting = false;
    std::unique_ptr<std::array<int32_t, 256>> next;  // kUnknown until computed
    std::shared_ptr<const std::vector<uint32_t>> mask;
    std::optional<std::string> forced;  // forced_bytes(), once computed
  };
  struct TopsHash {
    size_t operator()(const std::vector<int32_t>& v) const;
  };
  static constexpr int32_t kUnknown = -2;

  int32_t intern_node(int32_t pos, int32_t parent);
  // Closure of the pending (pos, parent) items into scratch tops; returns the interned state.
  int32_t close_and_intern();
  int32_t next_locked(int32_t state, uint8_t byte);

  std::shared_ptr<const Grammar> g_;
  std::shared_ptr<const TokenVocabulary> vocab_;
  mutable std::mutex mu_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, int32_t> node_ids_;
  std::vector<State> states_;
  std::unordered_map<std::vector<int32_t>, int32_t, TopsHash> state_ids_;  // tops + accept flag
  int32_t initial_ = kDead;
  // Closure scratch.
  std::vector<std::pair<int32_t, int32_t>> work_;
  std::vector<uint64_t> seen_;
  std::unordered_set<uint64_t> seen_set_;
  std::vector<int32_t> tops_;
  bool accepting_ = false;
};

}  // namespace xy::grammar
