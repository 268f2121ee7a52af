// An owned, 64-byte aligned, zero-initialized byte buffer. Large buffers (>= 2 MiB) are
// 2 MiB-aligned and advised as transparent huge pages: on this VM nested paging makes 4 KiB
// pages cost ~1/3 of read bandwidth (see docs/performance.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xy {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T>
  T* as() { return static_cast<T*>(data_); }
  template <class T>
  const T* as() const { return static_cast<const T*>(data_); }
  size_t size() const { return bytes_; }  // bytes
  bool empty() const { return bytes_ == 0; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace xy
