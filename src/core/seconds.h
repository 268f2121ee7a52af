// Durations arrive as seconds in a double (flags, options, traces); timers and deadlines want
// the steady clock's duration.
#pragma once

#include <chrono>

namespace xy {

inline std::chrono::steady_clock::duration steady_seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace xy
