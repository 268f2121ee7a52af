// When a request stops generating, and which text it may stream so far (OpenAI semantics):
//   * EOS ids (unless ignore_eos) and stop_token_ids stop with "stop"; the token id counts as
//     generated (usage, token_ids) but adds no text;
//   * stop strings are matched on the detokenized text across token boundaries; the output ends
//     right before the earliest match (the stop string itself is never streamed). Text that could
//     still be the start of a stop string is held back until the next token settles it;
//   * max_tokens and the context length stop with "length".
// One instance per request; not thread-safe (engine thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/sequence.h"

namespace xy {

struct StopConditions {
  std::vector<std::string> stop_strings;  // non-empty strings, UTF-8
  std::vector<int32_t> stop_token_ids;    // stop even with ignore_eos
  bool ignore_eos = false;                // benchmarks: keep going past EOS ids
  // Keep generated stop strings in the text (vLLM include_stop_str_in_output).
  bool include_stop_str_in_output = false;

  // kInvalidArgument for an empty stop string or a negative token id.
  Status validate() const;
};

class StopChecker {
 public:
  // eos_token_ids: the model's EOS ids (ignored with conditions.ignore_eos). max_new_tokens:
  // the tighter of max_tokens and (context length - prompt length), >= 1.
  StopChecker(StopConditions conditions, std::vector<int32_t> eos_token_ids, int max_new_tokens);

  struct Outcome {
    std::string text;  // text safe to stream now
    FinishReason finish = FinishReason::kNone;
    std::optional<std::string> stop_string;
    std::optional<int32_t> stop_token_id;
  };

  // Is this id a stop / EOS token? (Then the caller does not detokenize it.)
  bool is_stop_token(int32_t token) const;
  // Every id that stops: EOS ids (unless ignore_eos), then stop_token_ids.
  std::vector<int32_t> stop_token_ids() const;

  // One generated token: `token` and the text the detokenizer produced for it (empty for a stop
  // token). num_generated counts this token. A "stop" outcome has already dealt with the
  // held-back text (flushed before a stop token, cut at a stop string). A "length" outcome keeps
  // it held back: the caller then calls flush() with the detokenizer's tail.
  Outcome on_token(int32_t token, const std::string& text, int num_generated);
  // End of generation: adds the detokenizer's tail and releases everything up to a stop string
  // (finish kStop when the tail completes one, else kNone).
  Outcome flush(const std::string& tail);

  // Bytes currently held back (tests).
  const std::string& held_back() const { return held_; }

 private:
  // Appends text, finds the earliest stop string, and moves everything that can no longer be
  // part of a match into the outcome.
  void scan(const std::string& text, bool final, Outcome& out);

  StopConditions cond_;
  std::vector<int32_t> eos_;
  int max_new_tokens_;
  std::string held_;  // emitted-later text: a suffix that is a prefix of some stop string
  bool done_ = false;
};

}  // namespace xy
