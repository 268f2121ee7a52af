#include "engine/scheduler/queue_order.h"

#include <algorithm>
#include <tuple>

namespace xy {
namespace {

auto running_key(const Sequence* s, bool priority_scheduling) {
  return std::make_tuple(priority_scheduling ? s->priority() : 0, s->admission_index());
}

}  // namespace

void sort_running(std::vector<Sequence*>& running, bool priority_scheduling) {
  const auto before = [&](const Sequence* a, const Sequence* b) {
    return running_key(a, priority_scheduling) < running_key(b, priority_scheduling);
  };
  // Queues change little between steps: the linear check saves the sort on most steps.
  if (!std::is_sorted(running.begin(), running.end(), before)) {
    std::stable_sort(running.begin(), running.end(), before);
  }
}

bool is_starved(const Sequence& seq, const SchedulerConfig& config) {
  return seq.waiting_steps() >= config.starvation_steps;
}

void sort_waiting(std::vector<Sequence*>& waiting, const SchedulerConfig& config) {
  const auto key = [&](const Sequence* s) {
    const bool starved = is_starved(*s, config);
    const int priority = config.priority_scheduling && !starved ? s->priority() : 0;
    return std::make_tuple(starved ? 0 : 1, priority, s->arrival_index());
  };
  const auto before = [&](const Sequence* a, const Sequence* b) { return key(a) < key(b); };
  if (!std::is_sorted(waiting.begin(), waiting.end(), before)) {
    std::stable_sort(waiting.begin(), waiting.end(), before);
  }
}

Sequence* choose_preemption_victim(std::span<Sequence* const> running, bool priority_scheduling) {
  Sequence* victim = nullptr;
  for (Sequence* s : running) {
    if (victim == nullptr ||
        running_key(s, priority_scheduling) > running_key(victim, priority_scheduling)) {
      victim = s;
    }
  }
  return victim;
}

}  // namespace xy
