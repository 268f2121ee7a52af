// Prompt K/V that a prefill instance holds for a decode instance to pull, by transfer id. Each
// entry is taken at most once (a pull removes it) and expires after a time-to-live, so a decode
// instance that never comes does not hold memory forever. The engine's KV blocks are already
// free by then: an entry is a copy (model/kv_snapshot.h).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "model/kv_snapshot.h"

namespace xy::cluster {

class KvExportStore {
 public:
  explicit KvExportStore(double ttl_s = 60.0, size_t max_bytes = size_t(4) << 30);

  // A fresh transfer id for `snapshot`; "" when the store is full (the request then fails
  // rather than evicting another one's K/V).
  std::string put(std::shared_ptr<const KvSnapshot> snapshot);
  // Removes and returns the entry; null when unknown or expired.
  std::shared_ptr<const KvSnapshot> take(const std::string& id);
  // Drops expired entries; returns how many.
  int expire();

  size_t num_entries() const;
  size_t bytes() const;
  uint64_t num_expired() const;

 private:
  struct Entry {
    std::shared_ptr<const KvSnapshot> snapshot;
    std::chrono::steady_clock::time_point expires;
  };
  const double ttl_s_;
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  size_t bytes_ = 0;
  uint64_t next_ = 1;
  uint64_t expired_ = 0;
  uint64_t nonce_;
};

}  // namespace xy::cluster
