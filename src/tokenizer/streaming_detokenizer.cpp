#include "tokenizer/streaming_detokenizer.h"

#include <span>
#include <string_view>

#include "tokenizer/utf8.h"

namespace xy {
namespace {

bool ends_with_replacement(const std::string& s) {
  const std::string_view r = utf8::kReplacementChar;
  return s.size() >= r.size() && s.compare(s.size() - r.size(), r.size(), r) == 0;
}

// transformers' clean-up rewrites only patterns made of these characters (plus their leading
// space). A cut right after any other character can never split a clean-up match, in any of its
// sequential passes, because the passes only delete spaces.
bool is_cleanup_char(char c) {
  switch (c) {
    case ' ':
    case '.':
    case '?':
    case '!':
    case ',':
    case '\'':
    case 'n':
    case 't':
    case 'm':
    case 's':
    case 'v':
    case 'e':
    case 'r':
      return true;
    default:
      return false;
  }
}

}  // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer),
      skip_special_tokens_(skip_special_tokens),
      window_safe_(tokenizer.decoder_window_safe()) {}

std::string StreamingDetokenizer::push(int32_t id) {
  ids_.push_back(id);
  if (skip_special_tokens_ && tokenizer_.is_special(id)) return std::string();
  // Ids outside the vocabulary decode to nothing; keeping them out of the window keeps a
  // window's first id a real token (the context a leading-space strip needs).
  if (tokenizer_.id_to_token(id).empty()) return std::string();
  window_.push_back(id);
  // Decode the window with and without the new tokens; the difference is the new text. The
  // window keeps at least one earlier token so context-dependent decoders (a leading-space strip
  // on the first token) see the same context as a full decode.
  const std::span<const int32_t> all(window_);
  const std::string prefix_text = tokenizer_.decode_without_cleanup(
      all.subspan(prefix_offset_, read_offset_ - prefix_offset_), false);
  const std::string new_text =
      tokenizer_.decode_without_cleanup(all.subspan(prefix_offset_), false);
  if (new_text.size() > prefix_text.size() && !ends_with_replacement(new_text) &&
      new_text.compare(0, prefix_text.size(), prefix_text) == 0) {
    pending_raw_.append(new_text, prefix_text.size(), std::string::npos);
    // Decoders with wide start-of-text effects are re-decoded from the first id every time.
    if (window_safe_) prefix_offset_ = read_offset_;
    read_offset_ = window_.size();
  }
  return emit_settled(false);
}

std::string StreamingDetokenizer::finish() {
  const std::span<const int32_t> all(window_);
  if (read_offset_ < window_.size()) {
    const std::string prefix_text = tokenizer_.decode_without_cleanup(
        all.subspan(prefix_offset_, read_offset_ - prefix_offset_), false);
    const std::string new_text =
        tokenizer_.decode_without_cleanup(all.subspan(prefix_offset_), false);
    if (new_text.compare(0, prefix_text.size(), prefix_text) == 0) {
      pending_raw_.append(new_text, prefix_text.size(), std::string::npos);
    } else {
      // Not prefix-consistent (exotic decoder): fall back to the exact full decode.
      const std::string full = tokenizer_.decode_without_cleanup(all, false);
      const std::string emitted_raw =
          tokenizer_.decode_without_cleanup(all.subspan(0, read_offset_), false);
      pending_raw_.append(full, std::min(full.size(), emitted_raw.size()), std::string::npos);
    }
    prefix_offset_ = read_offset_ = window_.size();
  }
  return emit_settled(true);
}

std::string StreamingDetokenizer::emit_settled(bool final) {
  if (pending_raw_.empty()) return std::string();
  if (!tokenizer_.clean_up_tokenization_spaces()) return std::exchange(pending_raw_, std::string());
  size_t cut = pending_raw_.size();
  if (!final) {
    while (cut > 0 && is_cleanup_char(pending_raw_[cut - 1])) --cut;
    if (cut == 0) return std::string();
  }
  std::string out = clean_up_tokenization(std::string_view(pending_raw_).substr(0, cut));
  pending_raw_.erase(0, cut);
  return out;
}

}  // namespace xy
