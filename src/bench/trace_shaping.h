// Turning a loaded trace into the workload one run replays: rate scaling, cuts, fixed shapes,
// and synthetic Poisson arrivals. All functions are deterministic for a given seed.
#pragma once

#include <cstdint>

#include "bench/trace.h"

namespace xy::bench {

// `n` requests of fixed shape with exponential inter-arrival gaps at `rate` req/s (Poisson
// process); rate <= 0 or infinite means every request arrives at t = 0 (a closed burst, as
// vLLM's --request-rate inf).
Trace make_poisson_trace(int n, double rate, int input_tokens, int output_tokens, uint64_t seed);

// Arrivals run `rate_scale` times faster (2 = twice the trace's request rate). rate_scale > 0.
void scale_rate(Trace& trace, double rate_scale);
// Rescales arrivals so the trace's mean rate (requests / span) becomes `rate` req/s.
void set_mean_rate(Trace& trace, double rate);
// Mooncake's conversation trace buckets timestamps every 3 s; requests that share one arrival
// time are spread evenly across [t, t + bucket_s) so the replay has no artificial bursts.
void spread_bucketed_arrivals(Trace& trace, double bucket_s);
// Keeps requests arriving before `duration_s` (<= 0: no cut) and at most `max_requests`
// (<= 0: no cut).
void cut_trace(Trace& trace, double duration_s, int max_requests);
// Overrides the prompt and/or output length of every request (a value <= 0 keeps the trace's).
// A new prompt length drops the request's hash_ids (they described the old length).
void override_lengths(Trace& trace, int input_tokens, int output_tokens);
// Clamps each request so input + output <= max_model_len: the output length is kept (up to
// max_model_len - 1) and the prompt shortened; returns how many requests were clamped.
// max_model_len <= 0: no change.
int clamp_to_context(Trace& trace, int max_model_len);
// Mean request rate of the trace (requests / span of arrivals); 0 for fewer than 2 requests.
double mean_rate(const Trace& trace);

}  // namespace xy::bench
