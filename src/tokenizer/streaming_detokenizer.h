// Incremental detokenization for streamed generation: push token ids one at a time and get the
// text they completed. Guarantees, for any id sequence:
//   * every returned chunk is valid UTF-8 (bytes of an unfinished character are held back);
//   * concatenating all push() results and finish() equals tokenizer.decode(all ids, skip).
// Text that a later token could still change (an incomplete character, or a space that
// transformers' clean-up may remove before "." / "n't" / ...) is held back until it is settled.
//
// Cost: each push decodes only a short window of recent ids. One instance per sequence; not
// thread-safe itself, but any number of instances may share one Tokenizer across threads. The
// Tokenizer must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace xy {

class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens = false);

  // Adds one generated id; returns the newly completed text (often empty).
  std::string push(int32_t id);
  // End of stream: returns everything still held back.
  std::string finish();

  // All ids pushed so far.
  const std::vector<int32_t>& ids() const { return ids_; }

 private:
  // Moves settled raw text into the output, applying the clean-up where it is safe.
  std::string emit_settled(bool final);

  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  bool window_safe_;             // Tokenizer::decoder_window_safe()
  std::vector<int32_t> ids_;     // every pushed id (special ones included)
  std::vector<int32_t> window_;  // decodable ids after skipping specials
  size_t prefix_offset_ = 0;     // window_[prefix_offset_, read_offset_) was already decoded
  size_t read_offset_ = 0;
  std::string pending_raw_;  // decoded but not yet emitted (before clean-up)
};

}  // namespace xy
