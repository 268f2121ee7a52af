// Incremental parser of a text/event-stream body (the WHATWG EventSource rules that OpenAI
// servers follow): bytes arrive in arbitrary pieces; every complete event's data (its "data:"
// lines joined by '\n') is handed out in order. Comment lines (":"), "event:", "id:" and
// "retry:" fields are ignored; lines end with "\n", "\r\n" or "\r".
// Not thread-safe; one parser per stream.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace xy::bench {

class SseParser {
 public:
  // Feeds the next bytes; returns the data of the events they completed (possibly none).
  std::vector<std::string> feed(std::string_view bytes);
  // At end of stream: the data of a last event not terminated by a blank line, if any.
  std::vector<std::string> finish();

 private:
  void process_line(std::string_view line, std::vector<std::string>& out);
  void dispatch(std::vector<std::string>& out);

  std::string line_;  // the incomplete current line
  std::string data_;  // data lines of the current event
  bool has_data_ = false;
  bool last_was_cr_ = false;  // a "\r" ended the last line: skip a following "\n"
};

}  // namespace xy::bench
