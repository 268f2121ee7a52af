// Programmer errors: an always-on check that names file:line and aborts. Never use it for
// anything a user can cause (bad request, bad file): those return a Status (status.h).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace xy::detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* cond, const char* msg) {
  std::fprintf(stderr, "xyserve: internal check failed at %s:%d: %s%s%s\n", file, line, cond,
               msg[0] ? " — " : "", msg);
  std::abort();
}
}  // namespace xy::detail

#define XY_CHECK(cond)                                                  \
  do {                                                                  \
    if (!(cond)) ::xy::detail::check_failed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#define XY_CHECK_MSG(cond, msg)                                           \
  do {                                                                    \
    if (!(cond)) ::xy::detail::check_failed(__FILE__, __LINE__, #cond, msg); \
  } while (0)
