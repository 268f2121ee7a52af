// Per-request latency records and the run summary: throughput, TTFT / TPOT / ITL / E2E
// distributions and goodput, computed as vLLM's benchmark_serving does (percentiles by linear
// interpolation, TPOT = (E2E - TTFT) / (output_tokens - 1), goodput = requests/s that met both
// SLOs over the whole run).
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

namespace xy::bench {

// What one request measured. Times are seconds since the run started.
struct RequestRecord {
  int index = 0;           // position in the workload
  double scheduled_s = 0;  // arrival time from the trace
  double sent_s = 0;       // when the request was written (later under --max-concurrency)
  bool ok = false;
  std::string error;               // "" when ok; otherwise HTTP status / transport / protocol error
  int prompt_tokens = 0;           // server's usage.prompt_tokens, else the synthesized length
  int output_tokens = 0;           // server's usage.completion_tokens, else counted from chunks
  int expected_output_tokens = 0;  // the trace's output length (max_tokens)
  double ttft_s = 0;               // send -> first chunk with non-empty text
  double e2e_s = 0;                // send -> end of stream
  std::vector<double> itl_s;       // gaps between content chunks, one per token of each chunk
  struct Chunk {
    double t_s;  // arrival, seconds since run start
    int tokens;  // output tokens it carried
  };
  std::vector<Chunk> chunks;  // content chunks (for throughput over time)
};

// TPOT of one request; 0 when it produced fewer than 2 tokens.
double tpot_s(const RequestRecord& r);

// mean and percentiles of a sample; all zero (n = 0) for an empty sample.
struct Distribution {
  size_t n = 0;
  double mean = 0, min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};
// numpy.percentile's default (linear interpolation between closest ranks); p in [0, 100].
double percentile(std::vector<double> values, double p);
Distribution distribution(std::span<const double> values);

struct TimeBucket {
  double t_s = 0;               // bucket start
  double output_tok_per_s = 0;  // output tokens that arrived in the bucket / width
  double completed_per_s = 0;   // requests finished in the bucket / width
  int in_flight = 0;            // requests sent and not finished at the bucket start
};

struct Slo {
  double ttft_ms = 0;  // <= 0: not checked
  double tpot_ms = 0;  // <= 0: not checked
};

struct Summary {
  double duration_s = 0;  // run start -> last request finished
  int total = 0, completed = 0, failed = 0;
  long long input_tokens = 0, output_tokens = 0;  // completed requests only
  double request_throughput = 0;                  // completed / duration
  double output_throughput = 0;                   // output tokens / duration
  double total_throughput = 0;                    // (input + output tokens) / duration
  Distribution ttft_ms, tpot_ms, itl_ms, e2e_ms;
  Slo slo;
  int good_requests = 0;              // completed and within both SLOs
  double goodput = 0;                 // good_requests / duration
  std::map<std::string, int> errors;  // error message -> count
  double bucket_s = 0;
  std::vector<TimeBucket> timeline;
};

// `duration_s` is the measured wall time of the run (>= every record's end).
Summary summarize(std::span<const RequestRecord> records, double duration_s, Slo slo);

}  // namespace xy::bench
