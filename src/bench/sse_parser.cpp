#include "bench/sse_parser.h"

namespace xy::bench {

std::vector<std::string> SseParser::feed(std::string_view bytes) {
  std::vector<std::string> out;
  for (char c : bytes) {
    if (last_was_cr_) {
      last_was_cr_ = false;
      if (c == '\n') continue;
    }
    if (c == '\n' || c == '\r') {
      last_was_cr_ = c == '\r';
      process_line(line_, out);
      line_.clear();
    } else {
      line_.push_back(c);
    }
  }
  return out;
}

std::vector<std::string> SseParser::finish() {
  std::vector<std::string> out;
  if (!line_.empty()) {
    process_line(line_, out);
    line_.clear();
  }
  dispatch(out);
  return out;
}

void SseParser::process_line(std::string_view line, std::vector<std::string>& out) {
  if (line.empty()) {  // a blank line ends the event
    dispatch(out);
    return;
  }
  if (line.front() == ':') return;  // comment (keep-alive)
  const size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field != "data") return;
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
}

void SseParser::dispatch(std::vector<std::string>& out) {
  if (has_data_) out.push_back(std::move(data_));
  data_.clear();
  has_data_ = false;
}

}  // namespace xy::bench
