// Turns the SSE events of one streaming response into a RequestRecord: TTFT at the first
// chunk with non-empty text (or with tokens in its logprobs), one ITL entry per token of each later
// chunk (the gap split evenly over the chunk's tokens), output tokens from the server's usage when
// it reports it. Pure bookkeeping, no I/O: the HTTP client feeds it, tests drive it directly.
#pragma once

#include <string_view>

#include "bench/metrics.h"
#include "tokenizer/tokenizer.h"

namespace xy::bench {

class StreamRecorder {
 public:
  // `rec.sent_s` must be set; `tokenizer` (may be null) counts the tokens of a chunk's text
  // when the server sends several tokens per chunk; without it every chunk counts as 1.
  StreamRecorder(RequestRecord& rec, const Tokenizer* tokenizer) : rec_(rec), tok_(tokenizer) {}

  // One event's data, received at `t_s` (seconds since the run start). Returns false when the
  // stream reported an error or sent malformed data (rec.error says which).
  bool on_event(std::string_view data, double t_s);
  // The HTTP body ended normally at `t_s`: sets e2e, token counts and ok (a stream without
  // any generated token is an error; [DONE] is not required).
  void finish(double t_s);

 private:
  int count_tokens(std::string_view text) const;

  RequestRecord& rec_;
  const Tokenizer* tok_;
  bool failed_ = false;
  double last_t_ = 0;
  int chunk_tokens_ = 0;       // tokens counted from chunks
  bool exact_counts_ = false;  // chunks named their tokens (logprobs)
  int usage_completion_ = -1;  // last usage.completion_tokens seen (-1: none)
  int usage_prompt_ = -1;
  std::vector<double> gaps_;     // per content chunk after the first: gap since the previous
  std::vector<int> gap_tokens_;  // tokens of that chunk (counted)
};

}  // namespace xy::bench
