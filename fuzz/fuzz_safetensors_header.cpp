// libFuzzer driver for the safetensors parsers, the first code to touch a downloaded
// checkpoint. The first input byte picks the entry point:
//   even: parse_safetensors_header(header text = bytes[9..], data size = LE u64 of bytes[1..8])
//   odd:  parse_safetensors_file(whole file image = bytes[1..])
// Either must return a value for any input; every tensor it accepts must lie inside the data
// section, have the byte size its shape implies and not overlap another.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "model/safetensors.h"
#include "model/safetensors_file.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// Invariants of an accepted header; `base` / `end` bound the data section when known.
void check_accepted(const std::vector<xy::TensorInfo>& tensors, const uint8_t* base,
                    const uint8_t* end) {
  std::vector<std::pair<const uint8_t*, const uint8_t*>> ranges;
  for (const xy::TensorInfo& t : tensors) {
    require(!t.name.empty());
    int64_t numel = t.numel();  // must not overflow (UBSan would flag it)
    require(numel >= 0);
    require(static_cast<uint64_t>(numel) * xy::dtype_size(t.dtype) == t.num_bytes);
    if (base != nullptr) {
      const auto* p = static_cast<const uint8_t*>(t.data);
      require(p >= base && p + t.num_bytes <= end);
      if (t.num_bytes > 0) {
        // Touch the first and last byte so ASan sees any read outside the image.
        volatile uint8_t sink = p[0];
        sink = p[t.num_bytes - 1];
        (void)sink;
        ranges.emplace_back(p, p + t.num_bytes);
      }
    }
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) require(ranges[i].first >= ranges[i - 1].second);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool whole_file = (data[0] & 1) != 0;
  ++data;
  --size;
  if (whole_file) {
    // A heap copy of exactly `size` bytes, so ASan catches a read one past the end.
    std::vector<uint8_t> image(data, data + size);
    xy::Result<std::vector<xy::TensorInfo>> r =
        xy::parse_safetensors_file(image.data(), image.size(), "fuzz.safetensors");
    if (r.is_ok()) check_accepted(*r, image.data(), image.data() + image.size());
    return 0;
  }
  if (size < 8) return 0;
  uint64_t data_size = 0;
  for (int i = 7; i >= 0; --i) data_size = (data_size << 8) | data[i];
  const std::string header(reinterpret_cast<const char*>(data + 8), size - 8);
  xy::Result<std::vector<xy::TensorInfo>> r =
      xy::parse_safetensors_header(header, data_size, "fuzz.safetensors");
  if (r.is_ok()) {
    check_accepted(*r, nullptr, nullptr);
    for (const xy::TensorInfo& t : *r) require(t.num_bytes <= data_size);
  }
  return 0;
}
