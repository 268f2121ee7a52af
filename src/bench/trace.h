// A serving workload: when each request arrives and how long its prompt and output are.
// Loaders turn the public traces (Azure LLM 2023 CSV, Mooncake FAST'25 JSONL) into this one
// shape; trace_shaping.h rescales, cuts and synthesizes (Poisson) workloads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace xy::bench {

struct TraceRequest {
  double arrival_s = 0;   // seconds since the trace's first request
  int input_tokens = 0;   // prompt length, tokens
  int output_tokens = 0;  // generated length, tokens (forced with max_tokens + ignore_eos)
  // Mooncake prefix blocks: request i and j share their first k * kHashBlockTokens prompt
  // tokens when their first k hash ids are equal. Empty for traces without prefix information.
  std::vector<int64_t> hash_ids;
};

// Mooncake's hash_ids cover 512-token blocks (its README: ceil(input_length / 512) ids per row).
inline constexpr int kHashBlockTokens = 512;

struct Trace {
  std::string name;                    // e.g. "azure-conv"
  std::vector<TraceRequest> requests;  // sorted by arrival_s
};

// Azure LLM inference trace 2023: CSV "TIMESTAMP,ContextTokens,GeneratedTokens" with
// timestamps "YYYY-MM-DD HH:MM:SS.fffffff". Arrivals become seconds since the first row.
// `source` names the input in errors, which carry the 1-based line number.
Result<Trace> parse_azure_csv(std::string_view text, std::string_view source);

// Mooncake FAST'25 JSONL: {"timestamp": ms, "input_length", "output_length", "hash_ids": [..]}.
// Checks len(hash_ids) == ceil(input_length / 512) so a wrong block size can never slip in.
Result<Trace> parse_mooncake_jsonl(std::string_view text, std::string_view source);

// Reads a whole file (kNotFound / kIoError naming the path).
Result<std::string> read_text_file(const std::string& path);

// The named traces: "azure-conv", "azure-code", "mooncake-conv", "mooncake-synthetic", loaded
// from <data_dir>/traces/...; any other name is read as a path (.csv: Azure schema, .jsonl:
// Mooncake schema). kInvalidArgument for an unknown name that is not a file.
Result<Trace> load_trace(const std::string& name_or_path, const std::string& data_dir);

// The repository's data/ directory (compiled in), overridable with env XYSERVE_DATA_DIR.
std::string default_data_dir();

}  // namespace xy::bench
