#include "engine/engine_config.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace xy {

Status EngineConfig::validate() const {
  auto bad = [](const std::string& what) { return invalid_argument(what); };
  if (block_size < 1) return bad("block_size must be >= 1, got " + std::to_string(block_size));
  // Every DType is a valid KV dtype (int8 is KV-only); the check documents that and guards casts.
  if (kv_dtype != DType::kF32 && kv_dtype != DType::kBF16 && kv_dtype != DType::kF16 &&
      kv_dtype != DType::kI8) {
    return bad("kv_dtype must be f32, bf16, f16 or int8");
  }
  if (num_kv_blocks < 0) return bad("num_kv_blocks must be >= 0");
  if (kv_cache_bytes < 0) return bad("kv-cache-memory must be positive");
  if (!(kv_cache_fraction > 0.0 && kv_cache_fraction <= 1.0)) {
    return bad("kv cache fraction must be in (0, 1], got " + std::to_string(kv_cache_fraction));
  }
  if (max_num_batched_tokens < 0) {
    return bad("max-num-batched-tokens must be >= 1 (or 0 = calibrate), got " +
               std::to_string(max_num_batched_tokens));
  }
  if (max_num_seqs < 1)
    return bad("max-num-seqs must be >= 1, got " + std::to_string(max_num_seqs));
  if (!(target_tpot_ms > 0.0)) {
    return bad("target-tpot-ms must be > 0, got " + std::to_string(target_tpot_ms));
  }
  if (max_model_len < 0) return bad("max-model-len must be >= 0");
  if (num_speculative_tokens < 0) return bad("num-speculative-tokens must be >= 0");
  if (max_grammar_forced_tokens < 0) return bad("max-grammar-forced-tokens must be >= 0");
  return Status::ok();
}

Result<MemorySpec> parse_memory_spec(const std::string& text) {
  const std::string what = "--kv-cache-memory: '" + text + "' ";
  size_t pos = 0;
  double value = 0.0;
  try {
    value = std::stod(text, &pos);
  } catch (...) {
    return invalid_argument(what + "is not a size (e.g. 4GiB, 512MiB, 0.3)");
  }
  std::string unit = text.substr(pos);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!(value > 0.0) || !std::isfinite(value)) return invalid_argument(what + "must be positive");
  MemorySpec spec;
  if (unit.empty()) {
    if (value <= 1.0) {
      spec.fraction = value;
    } else {
      spec.bytes = static_cast<int64_t>(value);
    }
    return spec;
  }
  double scale = 0.0;
  if (unit == "b") scale = 1.0;
  if (unit == "k" || unit == "kb") scale = 1e3;
  if (unit == "m" || unit == "mb") scale = 1e6;
  if (unit == "g" || unit == "gb") scale = 1e9;
  if (unit == "kib") scale = 1024.0;
  if (unit == "mib") scale = 1024.0 * 1024.0;
  if (unit == "gib") scale = 1024.0 * 1024.0 * 1024.0;
  if (scale == 0.0)
    return invalid_argument(what + "has an unknown unit (use B, KB, MB, GB, KiB, MiB, GiB)");
  spec.bytes = static_cast<int64_t>(value * scale);
  if (spec.bytes < 1) return invalid_argument(what + "is less than one byte");
  return spec;
}

int64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream fields(line.substr(13));
      int64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

}  // namespace xy
