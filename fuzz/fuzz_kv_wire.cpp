// The KV transfer wire format (cluster/kv_wire.h): a decode instance reads it from a peer it
// does not control. Any bytes must give a snapshot that validates, or an error; never a crash,
// an overrun or a huge allocation (sizes are checked against the header before reading).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cluster/kv_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  xy::Result<xy::KvSnapshot> s = xy::cluster::decode_response(in);
  if (s.is_ok() && !s->validate().is_ok()) __builtin_trap();
  (void)xy::cluster::decode_pull_request(in);
  return 0;
}
