#include "router/replica_set.h"

#include <algorithm>
#include <sstream>

namespace xy::router {

const char* role_name(ReplicaRole role) {
  switch (role) {
    case ReplicaRole::kPrefill:
      return "prefill";
    case ReplicaRole::kDecode:
      return "decode";
    case ReplicaRole::kHybrid:
      break;
  }
  return "hybrid";
}

Result<ReplicaRole> parse_role(std::string_view text) {
  if (text == "hybrid") return ReplicaRole::kHybrid;
  if (text == "prefill") return ReplicaRole::kPrefill;
  if (text == "decode") return ReplicaRole::kDecode;
  return invalid_argument("unknown replica role '" + std::string(text) +
                          "' (expected hybrid, prefill or decode)");
}

Result<ReplicaSpec> parse_replica_spec(std::string_view text) {
  std::string s(text);
  std::replace(s.begin(), s.end(), ',', ' ');
  std::istringstream in(s);
  std::string url, role, extra;
  in >> url >> role >> extra;
  if (url.empty()) return invalid_argument("empty replica");
  if (!extra.empty())
    return invalid_argument("replica '" + std::string(text) + "': unexpected '" + extra + "'");
  XY_ASSIGN_OR_RETURN(bench::Url parsed, bench::parse_url(url));
  (void)parsed;
  ReplicaSpec spec;
  spec.url = url;
  while (!spec.url.empty() && spec.url.back() == '/') spec.url.pop_back();
  if (!role.empty()) {
    XY_ASSIGN_OR_RETURN(spec.role, parse_role(role));
    spec.role_given = true;
  }
  return spec;
}

Result<std::vector<ReplicaSpec>> parse_replica_file(const std::string& text) {
  std::vector<ReplicaSpec> out;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto spec = parse_replica_spec(line);
    if (!spec.is_ok()) {
      return invalid_argument("line " + std::to_string(number) + ": " + spec.status().message());
    }
    for (const ReplicaSpec& seen : out) {
      if (seen.url == spec->url)
        return invalid_argument("line " + std::to_string(number) + ": replica " + spec->url +
                                " listed twice");
    }
    out.push_back(*spec);
  }
  return out;
}

ReplicaSet::ReplicaSet(Options options) : options_(options) {}

std::vector<ReplicaId> ReplicaSet::update(const std::vector<ReplicaSpec>& specs,
                                          bool assume_healthy) {
  std::lock_guard lock(mu_);
  std::vector<ReplicaId> removed;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool keep = std::any_of(specs.begin(), specs.end(),
                                  [&](const ReplicaSpec& s) { return s.url == (*it)->s.url; });
    if (keep) {
      ++it;
    } else {
      removed.push_back((*it)->s.id);
      it = entries_.erase(it);
    }
  }
  for (const ReplicaSpec& spec : specs) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const auto& e) { return e->s.url == spec.url; });
    if (it != entries_.end()) {
      if (spec.role_given) (*it)->s.role = spec.role;
      (*it)->role_pinned = (*it)->role_pinned || spec.role_given;
      continue;
    }
    auto e = std::make_unique<Entry>();
    e->s.id = next_id_++;
    e->s.url = spec.url;
    e->s.role = spec.role;
    e->role_pinned = spec.role_given;
    e->s.healthy = assume_healthy;
    entries_.push_back(std::move(e));
  }
  return removed;
}

ReplicaSet::Entry* ReplicaSet::find(ReplicaId id) {
  for (auto& e : entries_)
    if (e->s.id == id) return e.get();
  return nullptr;
}

const ReplicaSet::Entry* ReplicaSet::find(ReplicaId id) const {
  for (const auto& e : entries_)
    if (e->s.id == id) return e.get();
  return nullptr;
}

std::vector<ReplicaSnapshot> ReplicaSet::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<ReplicaSnapshot> out;
  for (const auto& e : entries_) out.push_back(e->s);
  return out;
}

std::optional<ReplicaSnapshot> ReplicaSet::get(ReplicaId id) const {
  std::lock_guard lock(mu_);
  const Entry* e = find(id);
  if (e == nullptr) return std::nullopt;
  return e->s;
}

std::vector<ReplicaSnapshot> ReplicaSet::routable(std::optional<ReplicaRole> role) const {
  std::lock_guard lock(mu_);
  std::vector<ReplicaSnapshot> out;
  for (const auto& e : entries_) {
    if (!e->s.healthy) continue;
    if (role && e->s.role != *role && e->s.role != ReplicaRole::kHybrid) continue;
    out.push_back(e->s);
  }
  return out;
}

void ReplicaSet::begin_request(ReplicaId id) {
  std::lock_guard lock(mu_);
  if (Entry* e = find(id)) {
    ++e->s.in_flight;
    ++e->s.requests;
  }
}

int ReplicaSet::note_failure(Entry& e) {
  ++e.s.consecutive_failures;
  if (e.s.healthy && e.s.consecutive_failures >= options_.evict_after_failures) {
    e.s.healthy = false;
    e.was_evicted = true;
    return -1;
  }
  return 0;
}

int ReplicaSet::end_request(ReplicaId id, bool failed) {
  std::lock_guard lock(mu_);
  Entry* e = find(id);
  if (e == nullptr) return 0;
  e->s.in_flight = std::max(0, e->s.in_flight - 1);
  if (failed) {
    ++e->s.failures;
    // A transport failure is strong evidence: take the replica out now, the health check
    // brings it back.
    e->s.consecutive_failures =
        std::max(e->s.consecutive_failures, options_.evict_after_failures - 1);
    return note_failure(*e);
  }
  return 0;
}

int ReplicaSet::report_health(ReplicaId id, bool ok, const std::optional<ReplicaLoad>& load) {
  std::lock_guard lock(mu_);
  Entry* e = find(id);
  if (e == nullptr) return 0;
  if (load) {
    e->s.load = *load;
    if (load->reported_role && !e->role_pinned) e->s.role = *load->reported_role;
  }
  if (!ok) return note_failure(*e);
  e->s.consecutive_failures = 0;
  if (e->s.healthy) return 0;
  e->s.healthy = true;
  return e->was_evicted ? +1 : +2;
}

void ReplicaSet::set_role(ReplicaId id, ReplicaRole role) {
  std::lock_guard lock(mu_);
  if (Entry* e = find(id)) {
    e->s.role = role;
    e->role_pinned = true;
  }
}

}  // namespace xy::router
