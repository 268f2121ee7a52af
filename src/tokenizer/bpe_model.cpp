#include "tokenizer/bpe_model.h"

#include <cstdio>
#include <queue>

#include "tokenizer/bpe_word_cache.h"
#include "tokenizer/utf8.h"

namespace xy {
namespace {

constexpr int64_t kMaxTokenId = 1 << 24;  // far above any real vocabulary; bounds the id table

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// A symbol of the word being merged: a token id in a doubly linked list over a flat array.
struct Symbol {
  int32_t id;
  int32_t prev;  // index, -1 at the start
  int32_t next;  // index, -1 at the end
  bool alive;
};

// A candidate merge of symbols[pos] with its right neighbour, valid while the pair still exists.
struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t result;
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

BpeModel::BpeModel() : cache_(std::make_unique<BpeWordCache>()) {
  for (int32_t& id : byte_token_ids_) id = -1;
}
BpeModel::~BpeModel() = default;

Result<std::unique_ptr<BpeModel>> BpeModel::from_json(const tokjson::Json& config,
                                                      std::string_view where) {
  const std::string at(where);
  std::unique_ptr<BpeModel> m(new BpeModel());
  const auto* vocab = tokjson::find(config, "vocab");
  if (vocab == nullptr || !vocab->is_object()) {
    return format_error(at + ".vocab: missing or not an object of token -> id");
  }
  m->vocab_.reserve(vocab->size());
  for (const auto& [token, id_json] : vocab->items()) {
    if (!id_json.is_number_integer()) {
      return format_error(at + ".vocab['" + token + "']: expected an integer id");
    }
    const int64_t id = id_json.get<int64_t>();
    if (id < 0 || id >= kMaxTokenId) {
      return format_error(at + ".vocab['" + token + "']: id " + std::to_string(id) +
                          " out of range [0, " + std::to_string(kMaxTokenId) + ")");
    }
    if (static_cast<size_t>(id) >= m->id_to_token_.size()) {
      m->id_to_token_.resize(static_cast<size_t>(id) + 1);
      m->id_present_.resize(static_cast<size_t>(id) + 1, 0);
    }
    m->id_to_token_[static_cast<size_t>(id)] = token;
    m->id_present_[static_cast<size_t>(id)] = 1;
    m->vocab_.emplace(token, static_cast<int32_t>(id));
  }

  XY_ASSIGN_OR_RETURN(m->unk_token_, tokjson::optional_string(config, "unk_token", at));
  if (m->unk_token_) {
    // A missing unk token only matters when a word needs it; HF reports it then, so do we.
    if (const auto id = m->token_to_id(*m->unk_token_)) m->unk_id_ = *id;
  }
  XY_ASSIGN_OR_RETURN(auto prefix,
                      tokjson::optional_string(config, "continuing_subword_prefix", at));
  XY_ASSIGN_OR_RETURN(auto suffix, tokjson::optional_string(config, "end_of_word_suffix", at));
  m->continuing_subword_prefix_ = prefix.value_or("");
  m->end_of_word_suffix_ = suffix.value_or("");
  XY_ASSIGN_OR_RETURN(m->byte_fallback_, tokjson::bool_or(config, "byte_fallback", false, at));
  XY_ASSIGN_OR_RETURN(m->fuse_unk_, tokjson::bool_or(config, "fuse_unk", false, at));
  XY_ASSIGN_OR_RETURN(m->ignore_merges_, tokjson::bool_or(config, "ignore_merges", false, at));
  if (const auto* dropout = tokjson::find(config, "dropout")) {
    if (!dropout->is_number()) return format_error(at + ".dropout: expected a number or null");
    if (dropout->get<double>() > 0.0) {
      return unsupported(at +
                         ".dropout: BPE dropout is a training-time option; xyserve encodes "
                         "deterministically and does not support dropout > 0");
    }
  }
  if (m->continuing_subword_prefix_.empty() && m->end_of_word_suffix_.empty()) {
    m->bmp_char_ids_.assign(0x10000, -1);
    for (const auto& [token, id] : m->vocab_) {
      if (token.empty() || token.size() > 3 || !utf8::is_valid(token)) continue;
      size_t pos = 0;
      const char32_t cp = utf8::decode_at(token, pos);
      if (pos == token.size() && cp < 0x10000) m->bmp_char_ids_[cp] = id;
    }
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    if (const auto id = m->token_to_id(name)) m->byte_token_ids_[b] = *id;
  }

  const auto* merges = tokjson::find(config, "merges");
  static const tokjson::Json kNoMerges = tokjson::Json::array();
  if (merges == nullptr) merges = &kNoMerges;
  if (!merges->is_array()) return format_error(at + ".merges: expected an array");
  m->merges_.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const auto& entry = (*merges)[i];
    const std::string here = at + ".merges[" + std::to_string(i) + "]";
    std::string left, right;
    if (entry.is_string()) {
      const std::string s = entry.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return format_error(here + ": '" + s + "' is not two tokens separated by one space");
      }
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
               entry[1].is_string()) {
      left = entry[0].get<std::string>();
      right = entry[1].get<std::string>();
    } else {
      return format_error(here + ": expected \"a b\" or [\"a\", \"b\"]");
    }
    const auto left_id = m->token_to_id(left);
    const auto right_id = m->token_to_id(right);
    if (!left_id || !right_id) {
      return format_error(here + ": merge references token '" + (left_id ? right : left) +
                          "' which is not in the vocabulary");
    }
    std::string merged = left;
    const std::string& p = m->continuing_subword_prefix_;
    merged += (!p.empty() && right.compare(0, p.size(), p) == 0) ? right.substr(p.size()) : right;
    const auto merged_id = m->token_to_id(merged);
    if (!merged_id) {
      return format_error(here + ": merged token '" + merged + "' is not in the vocabulary");
    }
    // The first occurrence of a pair wins, as in Hugging Face.
    m->merges_.emplace(pair_key(*left_id, *right_id), Merge{static_cast<int32_t>(i), *merged_id});
  }
  return m;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() ||
      !id_present_[static_cast<size_t>(id)]) {
    return nullptr;
  }
  return &id_to_token_[static_cast<size_t>(id)];
}

Status BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return Status::ok();
  if (ignore_merges_) {
    if (const auto id = token_to_id(word)) {
      out.push_back(*id);
      return Status::ok();
    }
  }
  if (cache_->lookup(word, out)) return Status::ok();
  const size_t first = out.size();
  XY_RETURN_IF_ERROR(merge_word(word, out));
  cache_->insert(word, out.data() + first, out.size() - first);
  return Status::ok();
}

Status BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  // 1. Initial symbols: one per character (with the subword prefix / word suffix applied), byte
  //    tokens for characters outside the vocabulary when byte_fallback, else the unk token.
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  const auto push = [&](int32_t id) {
    const auto n = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{id, n - 1, -1, true});
  };
  std::optional<int32_t> pending_unk;  // an unk symbol not yet pushed (for fuse_unk)
  std::string piece;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t begin = pos;
    if (!bmp_char_ids_.empty()) {
      const char32_t cp = utf8::decode_at(word, pos);
      if (cp < 0x10000 && bmp_char_ids_[cp] >= 0) {
        if (pending_unk) push(*std::exchange(pending_unk, std::nullopt));
        push(bmp_char_ids_[cp]);
        continue;
      }
      pos = begin;
    }
    pos += static_cast<size_t>(utf8::sequence_length(static_cast<uint8_t>(word[pos])));
    if (pos > word.size()) pos = word.size();
    piece.clear();
    if (begin > 0) piece += continuing_subword_prefix_;
    piece.append(word.substr(begin, pos - begin));
    if (pos == word.size()) piece += end_of_word_suffix_;
    if (const auto id = token_to_id(piece)) {
      if (pending_unk) push(*std::exchange(pending_unk, std::nullopt));
      push(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : piece) all = all && byte_token_ids_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        if (pending_unk) push(*std::exchange(pending_unk, std::nullopt));
        for (char c : piece) push(byte_token_ids_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (unk_token_) {
      if (!unk_id_) {
        return format_error("tokenizer.json: model.unk_token '" + *unk_token_ +
                            "' is needed for '" + std::string(word) +
                            "' but is not in the vocabulary");
      }
      if (pending_unk && !fuse_unk_) push(*pending_unk);
      pending_unk = *unk_id_;
    }
    // Without an unk token the character is dropped, as Hugging Face does.
  }
  if (pending_unk) push(*pending_unk);
  if (!symbols.empty()) symbols.back().next = -1;
  for (size_t i = 0; i + 1 < symbols.size(); ++i) symbols[i].next = static_cast<int32_t>(i + 1);

  // 2. Merge the lowest-ranked adjacent pair until none is left: O(n log n) with a heap of
  //    candidates; stale candidates are skipped when popped.
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto consider = [&](int32_t left) {
    const int32_t right = symbols[static_cast<size_t>(left)].next;
    if (right < 0) return;
    const auto it = merges_.find(
        pair_key(symbols[static_cast<size_t>(left)].id, symbols[static_cast<size_t>(right)].id));
    if (it != merges_.end()) queue.push(Candidate{it->second.rank, left, it->second.result});
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) consider(static_cast<int32_t>(i));
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    const auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.result != top.result) continue;
    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  for (const Symbol& s : symbols) {
    if (s.alive) out.push_back(s.id);
  }
  return Status::ok();
}

}  // namespace xy
