#include "bench/stream_recorder.h"

#include <algorithm>

#include "bench/openai_protocol.h"

namespace xy::bench {

int StreamRecorder::count_tokens(std::string_view text) const {
  if (!tok_) return 1;
  auto ids = tok_->encode(text, /*add_special_tokens=*/false);
  return ids ? std::max<int>(1, static_cast<int>(ids->size())) : 1;
}

bool StreamRecorder::on_event(std::string_view data, double t_s) {
  if (failed_) return false;
  auto parsed = parse_chunk(data);
  if (!parsed) {
    rec_.error = "bad stream: " + parsed.status().message();
    failed_ = true;
    return false;
  }
  const ChunkInfo& c = *parsed;
  if (!c.error.empty()) {
    rec_.error = "stream error: " + c.error;
    failed_ = true;
    return false;
  }
  if (c.done) return true;
  if (c.completion_tokens) usage_completion_ = *c.completion_tokens;
  if (c.prompt_tokens) usage_prompt_ = *c.prompt_tokens;
  // A chunk carries output when it has text or names tokens in its logprobs.
  if (c.text.empty() && c.logprob_tokens == 0) return true;
  const int tokens = c.logprob_tokens > 0 ? c.logprob_tokens : count_tokens(c.text);
  if (c.logprob_tokens > 0) exact_counts_ = true;
  if (rec_.chunks.empty()) {
    rec_.ttft_s = t_s - rec_.sent_s;
  } else {
    gaps_.push_back(t_s - last_t_);
    gap_tokens_.push_back(tokens);
  }
  last_t_ = t_s;
  chunk_tokens_ += tokens;
  rec_.chunks.push_back({t_s, tokens});
  return true;
}

void StreamRecorder::finish(double t_s) {
  rec_.e2e_s = t_s - rec_.sent_s;
  if (failed_) return;
  if (rec_.chunks.empty()) {
    rec_.error =
        "stream ended without generated text (if the server sends tokens whose text is "
        "empty, --stream-logprobs counts them)";
    return;
  }
  // finish() is only called after the HTTP body ended normally, so a missing [DONE] (some
  // servers omit it) is no error; a cut connection fails earlier as a transport error.
  // The server's count wins; when it equals the number of content chunks, each chunk was one
  // token whatever the tokenizer thinks of the chunk's text in isolation.
  const int n_chunks = static_cast<int>(rec_.chunks.size());
  if (!exact_counts_ && usage_completion_ >= 0 && usage_completion_ == n_chunks) {
    for (auto& c : rec_.chunks) c.tokens = 1;
    std::fill(gap_tokens_.begin(), gap_tokens_.end(), 1);
  }
  rec_.output_tokens = usage_completion_ >= 0 ? usage_completion_ : chunk_tokens_;
  if (usage_prompt_ >= 0) rec_.prompt_tokens = usage_prompt_;
  rec_.itl_s.clear();
  for (size_t i = 0; i < gaps_.size(); ++i) {
    const int k = std::max(1, gap_tokens_[i]);
    for (int j = 0; j < k; ++j) rec_.itl_s.push_back(gaps_[i] / k);
  }
  rec_.ok = true;
}

}  // namespace xy::bench
