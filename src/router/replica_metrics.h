// Reads a replica's load (and the role it reports, xyserve:instance_role) from its Prometheus
// /metrics text: xyserve's own gauge names and
// vLLM's (so the router also balances vLLM replicas). Samples of one metric with several label
// sets are summed; unknown metrics and malformed lines are ignored (a replica's exposition is
// not trusted to be perfect, only to be bounded: the caller caps its size).
#pragma once

#include <string_view>

#include "router/replica_set.h"

namespace xy::router {

ReplicaLoad parse_replica_metrics(std::string_view exposition);

}  // namespace xy::router
