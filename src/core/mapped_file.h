// A whole file mapped read-only into memory (mmap, PROT_READ, MAP_PRIVATE): checkpoints are
// read in place, so loading a model costs page faults, not copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace xy {

class MappedFile {
 public:
  // Maps `path`. kNotFound when it does not exist, kIoError when it cannot be opened, is not a
  // regular file or cannot be mapped. An empty file is valid (size() == 0, data() == nullptr).
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Valid, immutable and page-aligned for the lifetime of this object; safe to read from any
  // thread.
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }  // bytes
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;  // bytes
};

}  // namespace xy
