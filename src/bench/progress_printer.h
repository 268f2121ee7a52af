// Progress of a running benchmark on stderr: a redrawn bar on a terminal, a plain line every
// `line_interval_s` seconds otherwise (logs stay readable). Called from the client thread only.
#pragma once

#include <cstdio>

#include "bench/load_generator.h"

namespace xy::bench {

class ProgressPrinter {
 public:
  ProgressPrinter(std::FILE* out, bool tty, double line_interval_s = 10)
      : out_(out), tty_(tty), interval_(line_interval_s) {}
  void update(const Progress& p);
  // Ends the bar's line (terminal) or prints a last line.
  void finish(const Progress& p);

 private:
  std::FILE* out_;
  bool tty_;
  double interval_;
  double last_line_s_ = -1e9;
};

}  // namespace xy::bench
