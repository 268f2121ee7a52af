#include "engine/stop_checker.h"

#include <algorithm>
#include <string>
#include <utility>

namespace xy {

Status StopConditions::validate() const {
  for (size_t i = 0; i < stop_strings.size(); ++i) {
    if (stop_strings[i].empty()) {
      return invalid_argument("stop string " + std::to_string(i) + " is empty");
    }
  }
  for (int32_t id : stop_token_ids) {
    if (id < 0) return invalid_argument("stop token id " + std::to_string(id) + " is negative");
  }
  return Status::ok();
}

StopChecker::StopChecker(StopConditions conditions, std::vector<int32_t> eos_token_ids,
                         int max_new_tokens)
    : cond_(std::move(conditions)),
      eos_(std::move(eos_token_ids)),
      max_new_tokens_(max_new_tokens) {
  if (cond_.ignore_eos) eos_.clear();
}

bool StopChecker::is_stop_token(int32_t token) const {
  return std::find(eos_.begin(), eos_.end(), token) != eos_.end() ||
         std::find(cond_.stop_token_ids.begin(), cond_.stop_token_ids.end(), token) !=
             cond_.stop_token_ids.end();
}

std::vector<int32_t> StopChecker::stop_token_ids() const {
  std::vector<int32_t> ids = eos_;
  ids.insert(ids.end(), cond_.stop_token_ids.begin(), cond_.stop_token_ids.end());
  return ids;
}

void StopChecker::scan(const std::string& text, bool final, Outcome& out) {
  held_ += text;
  if (cond_.stop_strings.empty()) {
    out.text += held_;
    held_.clear();
    return;
  }
  // Every match starts inside held_: text before it was released only once no stop string
  // could start there. The earliest match wins; among matches at the same place, the longest
  // is taken only when include_stop_str_in_output, otherwise any (the output ends there anyway).
  size_t best = std::string::npos;
  const std::string* best_stop = nullptr;
  for (const std::string& stop : cond_.stop_strings) {
    const size_t at = held_.find(stop);
    if (at != std::string::npos && (at < best || (at == best && stop.size() > best_stop->size()))) {
      best = at;
      best_stop = &stop;
    }
  }
  if (best_stop != nullptr) {
    const size_t end = cond_.include_stop_str_in_output ? best + best_stop->size() : best;
    out.text += held_.substr(0, end);
    held_.clear();
    out.finish = FinishReason::kStop;
    out.stop_string = *best_stop;
    done_ = true;
    return;
  }
  if (final) {
    out.text += held_;
    held_.clear();
    return;
  }
  // Hold back the longest suffix of held_ that is a proper prefix of some stop string. Stop
  // strings are valid UTF-8, so such a suffix starts on a character boundary and the released
  // text stays valid UTF-8.
  size_t keep = 0;
  for (const std::string& stop : cond_.stop_strings) {
    const size_t max_len = std::min(held_.size(), stop.size() - 1);
    for (size_t len = max_len; len > keep; --len) {
      if (held_.compare(held_.size() - len, len, stop, 0, len) == 0) {
        keep = len;
        break;
      }
    }
  }
  out.text += held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
}

StopChecker::Outcome StopChecker::on_token(int32_t token, const std::string& text,
                                           int num_generated) {
  Outcome out;
  if (done_) return out;
  if (is_stop_token(token)) {
    // The token itself adds no text; whatever was held back can no longer become a stop string.
    scan(text, /*final=*/true, out);
    out.finish = FinishReason::kStop;
    out.stop_token_id = token;
    done_ = true;
    return out;
  }
  scan(text, /*final=*/false, out);
  if (out.finish != FinishReason::kNone) return out;
  if (num_generated >= max_new_tokens_) out.finish = FinishReason::kLength;
  return out;
}

StopChecker::Outcome StopChecker::flush(const std::string& tail) {
  Outcome out;
  if (done_) return out;
  scan(tail, /*final=*/true, out);
  done_ = true;
  return out;
}

}  // namespace xy
