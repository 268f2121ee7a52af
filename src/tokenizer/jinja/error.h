// The one error type the Jinja interpreter uses internally. It never leaves the module:
// ChatTemplate (and the Template facade) turn it into an xy::Status at their boundary.
#pragma once

#include <exception>
#include <string>
#include <utility>

namespace xy::jinja {

// A position in the original template source, 1-based; line 0 means "unknown yet".
struct SourcePos {
  int line = 0;
  int column = 0;
};

struct JinjaError : std::exception {
  enum class Kind {
    kSyntax,   // the template does not parse
    kRuntime,  // evaluation failed (type error, unknown method, bad argument)
    kRaised,   // the template called raise_exception(message)
    kLimit,    // a safety limit (depth, output size, iterations) was hit
  };

  JinjaError(Kind k, std::string msg, SourcePos p = {})
      : kind(k), message(std::move(msg)), pos(p) {}
  const char* what() const noexcept override { return message.c_str(); }

  // "line:column: message", or the bare message when no position is known.
  std::string describe() const {
    if (pos.line == 0) return message;
    return std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + message;
  }

  Kind kind;
  std::string message;
  SourcePos pos;
};

[[noreturn]] inline void throw_runtime(std::string msg) {
  throw JinjaError(JinjaError::Kind::kRuntime, std::move(msg));
}

}  // namespace xy::jinja
