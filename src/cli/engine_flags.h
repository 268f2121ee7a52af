// Flags shared by the commands that run the engine (generate, bench offline): engine knobs
// (vLLM's names), the model session's load flags, and speculation. One place that registers them
// and turns them into an EngineConfig + Proposer.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/model_session.h"
#include "core/status.h"
#include "engine/engine.h"
#include "engine/engine_config.h"
#include "engine/spec/spec_config.h"

namespace xy::cli {

struct EngineFlags {
  EngineConfig engine;
  std::string kv_cache_memory;  // --kv-cache-memory: bytes ("4GiB") or a fraction ("0.3")
  bool no_prefix_caching = false;
  spec::SpecConfig spec;
  std::string spec_method = "none";
};

// Registers --max-num-batched-tokens, --max-num-seqs, --max-model-len, --kv-cache-memory,
// --enable-prefix-caching / --no-enable-prefix-caching, --target-tpot-ms, --priority-scheduling,
// --max-grammar-forced-tokens, --spec-method, --num-speculative-tokens, --draft-model,
// --spec-tree-width,
// --spec-adaptive / --no-spec-adaptive. (--block-size and
// --kv-dtype belong to the model session flags of each command.)
void add_engine_flags(CLI::App& cmd, EngineFlags& flags);

// Resolves the flags (memory spec, spec method) against the loaded session, and builds the
// engine over the session's model and tokenizer (which must outlive the engine).
Result<std::unique_ptr<Engine>> make_engine_from_flags(EngineFlags& flags, ModelSession& session,
                                                       const ModelSessionOptions& session_opts);

}  // namespace xy::cli
