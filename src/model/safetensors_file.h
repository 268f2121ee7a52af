// Byte-level parsing of one safetensors file held in memory (mapped or not). Internal to the
// loader, also the entry point of the whole-file fuzz target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/safetensors.h"

namespace xy {

// The safetensors reference implementation refuses headers above 100 MB; so do we, so a
// corrupt length cannot make us parse (and allocate for) gigabytes of JSON.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// One validated header entry and where its bytes are.
struct SafetensorsEntry {
  TensorInfo info;     // data == nullptr: the header alone does not locate the file in memory
  uint64_t begin = 0;  // bytes from the start of the data section
};

// parse_safetensors_header, keeping the offsets.
Result<std::vector<SafetensorsEntry>> parse_safetensors_header_entries(
    const std::string& header_json, uint64_t data_size, const std::string& file_name);

// Validates a complete file image: 8-byte little-endian header length, header JSON (starting
// with '{', at most kMaxSafetensorsHeaderBytes), data section, and that every tensor's address
// (bytes + its file offset) is a multiple of its element size, so `data` may be read as
// float / uint16_t; kUnsupported naming the tensor otherwise.
// Returned tensors, sorted by name, point into [bytes, bytes + size), which the caller keeps alive.
Result<std::vector<TensorInfo>> parse_safetensors_file(const uint8_t* bytes, size_t size,
                                                       const std::string& file_name);

// The validated header of a file image and where its data section starts.
struct SafetensorsLayout {
  uint64_t data_start = 0;  // file offset of the data section: 8 + header length
  std::vector<SafetensorsEntry> entries;
};

// The length prefix and header checks of parse_safetensors_file, without locating tensors.
Result<SafetensorsLayout> parse_safetensors_layout(const uint8_t* bytes, size_t size,
                                                   const std::string& file_name);

// Points the entries of `layout` into `bytes` (the image it was parsed from, or a copy of it),
// checking each tensor's alignment; kUnsupported naming the tensor when one is misaligned.
Result<std::vector<TensorInfo>> locate_safetensors(SafetensorsLayout layout, const uint8_t* bytes,
                                                   const std::string& file_name);

}  // namespace xy
