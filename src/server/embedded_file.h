// The files compiled into the binary by cmake/embed_files.cmake (the web page under web/). The
// table is generated at build time; web_assets.h is the interface the server uses.
#pragma once

#include <cstddef>

namespace xy::server::detail {

struct EmbeddedFile {
  const char* name;           // relative to web/, e.g. "index.html"
  const unsigned char* data;  // [size] bytes, followed by one NUL not counted in size
  size_t size;                // bytes
};

// [kNumEmbeddedFiles], sorted by name.
extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kNumEmbeddedFiles;

}  // namespace xy::server::detail
