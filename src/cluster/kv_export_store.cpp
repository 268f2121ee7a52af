#include "cluster/kv_export_store.h"

#include <cstdio>
#include <random>

#include "core/seconds.h"

namespace xy::cluster {

KvExportStore::KvExportStore(double ttl_s, size_t max_bytes)
    : ttl_s_(ttl_s), max_bytes_(max_bytes), nonce_(std::random_device{}()) {}

std::string KvExportStore::put(std::shared_ptr<const KvSnapshot> snapshot) {
  expire();
  std::lock_guard lock(mu_);
  const size_t b = snapshot->bytes();
  if (bytes_ + b > max_bytes_) return "";
  // Unguessable enough that another instance's id is never pulled by mistake; not a secret
  // (the transfer port belongs on the cluster network).
  char id[48];
  std::snprintf(id, sizeof id, "kv-%016llx-%llu", static_cast<unsigned long long>(nonce_),
                static_cast<unsigned long long>(next_++));
  const auto expires = std::chrono::steady_clock::now() + steady_seconds(ttl_s_);
  entries_[id] = Entry{std::move(snapshot), expires};
  bytes_ += b;
  return id;
}

std::shared_ptr<const KvSnapshot> KvExportStore::take(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return nullptr;
  std::shared_ptr<const KvSnapshot> s = std::move(it->second.snapshot);
  const bool live = it->second.expires > std::chrono::steady_clock::now();
  bytes_ -= s->bytes();
  entries_.erase(it);
  if (!live) {
    ++expired_;
    return nullptr;
  }
  return s;
}

int KvExportStore::expire() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  int n = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires <= now) {
      bytes_ -= it->second.snapshot->bytes();
      it = entries_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  expired_ += uint64_t(n);
  return n;
}

size_t KvExportStore::num_entries() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

size_t KvExportStore::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

uint64_t KvExportStore::num_expired() const {
  std::lock_guard lock(mu_);
  return expired_;
}

}  // namespace xy::cluster
