// Who goes first: the ordering policies of the scheduler's two queues and the choice of the
// preemption victim. FCFS by default; with priority scheduling, Request::priority (lower value
// first, as vLLM) and then arrival. Starved waiting requests go before everyone else.
#pragma once

#include <span>
#include <vector>

#include "engine/scheduler/scheduler_config.h"
#include "engine/sequence.h"

namespace xy {

// Running sequences, most important first: (priority if enabled, admission order).
void sort_running(std::vector<Sequence*>& running, bool priority_scheduling);

// A waiting request that has waited config.starvation_steps steps is starved.
bool is_starved(const Sequence& seq, const SchedulerConfig& config);

// Waiting sequences in admission order: starved ones first (by arrival), then
// (priority if enabled, arrival). A preempted sequence keeps its arrival index, so it goes back
// in front of every later arrival of its priority.
void sort_waiting(std::vector<Sequence*>& waiting, const SchedulerConfig& config);

// The lowest-priority, most recently admitted running sequence (may be the one asking).
Sequence* choose_preemption_victim(std::span<Sequence* const> running, bool priority_scheduling);

}  // namespace xy
