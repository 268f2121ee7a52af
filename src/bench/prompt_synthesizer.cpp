#include "bench/prompt_synthesizer.h"

#include <nlohmann/json.hpp>

#include "bench/trace.h"

namespace xy::bench {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

Result<PromptSynthesizer> PromptSynthesizer::create(const Tokenizer& tokenizer,
                                                    std::string_view corpus) {
  PromptSynthesizer s(tokenizer);
  XY_ASSIGN_OR_RETURN(s.pool_, tokenizer.encode(corpus, /*add_special_tokens=*/false));
  if (s.pool_.size() < static_cast<size_t>(kHashBlockTokens))
    return invalid_argument("prompt corpus encodes to " + std::to_string(s.pool_.size()) +
                            " tokens; at least 512 are needed");
  XY_ASSIGN_OR_RETURN(std::vector<int32_t> empty, tokenizer.encode("", true));
  s.special_tokens_ = static_cast<int>(empty.size());
  XY_ASSIGN_OR_RETURN(s.filler_, tokenizer.encode(" the", false));
  return s;
}

void PromptSynthesizer::append_pool(std::vector<int32_t>& ids, uint64_t offset, size_t n) const {
  for (size_t i = 0; i < n; ++i) ids.push_back(pool_[(offset + i) % pool_.size()]);
}

Result<std::string> PromptSynthesizer::make(int num_tokens, std::span<const int64_t> hash_ids,
                                            uint64_t request_seed) const {
  const int target_i = num_tokens - special_tokens_;
  if (target_i < 1)
    return invalid_argument("cannot synthesize a " + std::to_string(num_tokens) +
                            "-token prompt: the tokenizer adds " + std::to_string(special_tokens_) +
                            " special tokens");
  const size_t target = static_cast<size_t>(target_i);
  std::vector<int32_t> ids;
  ids.reserve(target + 16);
  // Prefix blocks first: the same hash id always yields the same 512 pool tokens.
  for (int64_t h : hash_ids) {
    if (ids.size() >= target) break;
    const uint64_t off = splitmix64(static_cast<uint64_t>(h)) % pool_.size();
    append_pool(ids, off, std::min<size_t>(kHashBlockTokens, target - ids.size()));
  }
  uint64_t tail_offset = splitmix64(request_seed ^ 0x5bd1e995ull) % pool_.size();
  if (ids.size() < target) {
    append_pool(ids, tail_offset, target - ids.size());
    tail_offset += target;
  }
  // Decode / re-encode until the text is a fixed point of exactly `target` tokens. The later
  // rounds pad with the filler word, whose tokens survive a round trip in every BPE we ship.
  constexpr int kRounds = 24;
  for (int round = 0; round < kRounds; ++round) {
    std::string text = tok_->decode(ids, /*skip_special_tokens=*/true);
    XY_ASSIGN_OR_RETURN(std::vector<int32_t> re, tok_->encode(text, false));
    if (re.size() == target) {
      // The server encodes with special tokens: check that count too.
      XY_ASSIGN_OR_RETURN(std::vector<int32_t> full, tok_->encode(text, true));
      if (full.size() == static_cast<size_t>(num_tokens)) return text;
    }
    if (re.size() > target) {
      re.resize(target);
    } else {
      const size_t missing = target - re.size();
      if (round < kRounds / 2) {
        append_pool(re, tail_offset, missing);
        tail_offset += missing;
      } else {
        for (size_t i = 0; i < missing; ++i) re.push_back(filler_[i % filler_.size()]);
      }
    }
    ids = std::move(re);
  }
  // Small vocabularies (few merges) can keep regrouping bytes at the cut and never settle. Fall
  // back to a prefix of the pool text that survives a round trip on its own, padded with the
  // filler: shorter prefixes are tried until one fits (the empty prefix is pure filler).
  const std::string pool_text = tok_->decode(ids, /*skip_special_tokens=*/true);
  XY_ASSIGN_OR_RETURN(std::vector<int32_t> stable, tok_->encode(pool_text, false));
  const std::string filler_text = tok_->decode(filler_, /*skip_special_tokens=*/true);
  for (size_t keep = std::min(stable.size(), target);; keep = keep > 64 ? keep - keep / 8 : 0) {
    std::string text = tok_->decode(std::span<const int32_t>(stable).first(keep), true);
    XY_ASSIGN_OR_RETURN(std::vector<int32_t> re, tok_->encode(text, false));
    for (int round = 0; re.size() < target && round < 8; ++round) {
      for (size_t i = re.size(); i < target; i += filler_.size()) text += filler_text;
      XY_ASSIGN_OR_RETURN(re, tok_->encode(text, false));
    }
    if (re.size() == target) {
      XY_ASSIGN_OR_RETURN(std::vector<int32_t> full, tok_->encode(text, true));
      if (full.size() == static_cast<size_t>(num_tokens)) return text;
    }
    if (keep == 0) break;
  }
  return internal_error("prompt synthesis did not converge to " + std::to_string(num_tokens) +
                        " tokens");
}

Result<std::string> load_prompt_corpus(const std::string& data_dir) {
  return load_prompt_corpus_file(data_dir + "/prompts/arena-hard/arena-hard-v0.1_question.jsonl");
}

Result<PromptSynthesizer> make_prompt_synthesizer(const Tokenizer& tokenizer,
                                                  const std::string& corpus_file,
                                                  const std::string& data_dir) {
  XY_ASSIGN_OR_RETURN(std::string corpus, corpus_file.empty()
                                              ? load_prompt_corpus(data_dir)
                                              : load_prompt_corpus_file(corpus_file));
  return PromptSynthesizer::create(tokenizer, corpus);
}

Result<std::string> load_prompt_corpus_file(const std::string& path) {
  XY_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  if (!path.ends_with(".jsonl")) return text;
  std::string corpus;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("prompt") || !j["prompt"].is_string())
      return format_error(path + ":" + std::to_string(line_no) + ": expected {\"prompt\": string}");
    if (!corpus.empty()) corpus += "\n\n";
    corpus += j["prompt"].get<std::string>();
  }
  return corpus;
}

}  // namespace xy::bench
