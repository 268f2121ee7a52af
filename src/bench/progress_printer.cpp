#include "bench/progress_printer.h"

#include <string>

namespace xy::bench {

void ProgressPrinter::update(const Progress& p) {
  const int finished = p.completed + p.failed;
  const double tok_s = p.elapsed_s > 0 ? static_cast<double>(p.output_tokens) / p.elapsed_s : 0;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = p.total > 0 ? kWidth * finished / p.total : kWidth;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '.');
    std::fprintf(out_, "\r[%s] %d/%d done, %d failed, %d in flight, %.1f tok/s, %.1f s   ",
                 bar.c_str(), finished, p.total, p.failed, p.in_flight, tok_s, p.elapsed_s);
    std::fflush(out_);
    return;
  }
  if (p.elapsed_s - last_line_s_ < interval_) return;
  last_line_s_ = p.elapsed_s;
  std::fprintf(out_, "bench: %.0f s: %d/%d done, %d failed, %d in flight, %.1f tok/s\n",
               p.elapsed_s, finished, p.total, p.failed, p.in_flight, tok_s);
  std::fflush(out_);
}

void ProgressPrinter::finish(const Progress& p) {
  last_line_s_ = -1e9;
  update(p);
  if (tty_) std::fputc('\n', out_);
}

}  // namespace xy::bench
