#include "cli/engine_flags.h"

#include "cli/default_model.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace xy::cli {

void add_engine_flags(CLI::App& cmd, EngineFlags& f) {
  cmd.add_option("--max-num-batched-tokens", f.engine.max_num_batched_tokens,
                 "Token budget of one step (0 = calibrate against --target-tpot-ms)")
      ->capture_default_str();
  cmd.add_option("--max-num-seqs", f.engine.max_num_seqs, "Running requests at most")
      ->capture_default_str();
  cmd.add_option("--max-model-len", f.engine.max_model_len, "Context length (0 = the model's)")
      ->capture_default_str();
  cmd.add_option("--kv-cache-memory", f.kv_cache_memory,
                 "KV cache size: bytes (4GiB, 512MiB) or a fraction of free RAM (0.2)");
  cmd.add_flag("--enable-prefix-caching,!--no-enable-prefix-caching",
               f.engine.enable_prefix_caching, "Reuse KV of shared prompt prefixes (default on)");
  cmd.add_option("--target-tpot-ms", f.engine.target_tpot_ms,
                 "Time per output token the calibrated budget aims for")
      ->capture_default_str();
  cmd.add_flag("--priority-scheduling", f.engine.priority_scheduling,
               "Order by request priority, then arrival (default: FCFS)");
  cmd.add_option("--max-grammar-forced-tokens", f.engine.max_grammar_forced_tokens,
                 "Structured output: tokens of grammar-forced text verified as drafts per step "
                 "(jump-forward; exact, 0 = off)")
      ->capture_default_str();
  cmd.add_option("--spec-method", f.spec_method, "Speculative decoding: none|ngram|draft|tree")
      ->capture_default_str();
  cmd.add_option("--num-speculative-tokens", f.spec.num_speculative_tokens,
                 "Max draft tokens per request per step (0 = speculation off)")
      ->capture_default_str();
  cmd.add_option("--draft-model", f.spec.draft_model_dir,
                 "Draft checkpoint (same tokenizer) for --spec-method draft|tree (default with "
                 "the shipped target: models/xy-draft)");
  cmd.add_option("--spec-tree-width", f.spec.tree_width, "Branches of a draft tree")
      ->capture_default_str();
  cmd.add_flag("--spec-adaptive,!--no-spec-adaptive", f.spec.adaptive,
               "Draft length per request from its acceptance rate and the step load (default "
               "on); off: always --num-speculative-tokens");
}

Result<std::unique_ptr<Engine>> make_engine_from_flags(EngineFlags& f, ModelSession& session,
                                                       const ModelSessionOptions& opts) {
  EngineConfig cfg = f.engine;
  cfg.block_size = opts.block_size;
  cfg.kv_dtype = session.kv_dtype();
  if (!f.kv_cache_memory.empty()) {
    XY_ASSIGN_OR_RETURN(MemorySpec mem, parse_memory_spec(f.kv_cache_memory));
    cfg.kv_cache_bytes = mem.bytes;
    if (mem.fraction > 0.0) cfg.kv_cache_fraction = mem.fraction;
  }
  XY_ASSIGN_OR_RETURN(f.spec.method, spec::parse_spec_method(f.spec_method));
  // The shipped target gets the shipped draft unless --draft-model names another.
  if (f.spec.draft_model_dir.empty()) {
    f.spec.draft_model_dir = default_draft_model_dir(opts.model_dir);
  }
  if (f.spec.method != spec::SpecMethod::kNone && f.spec.num_speculative_tokens == 0) {
    f.spec.num_speculative_tokens = 4;  // a method without a length: vLLM-like default
  }
  XY_RETURN_IF_ERROR(f.spec.validate());
  EngineParts parts;
  // Non-owning: the session owns the model and tokenizer and outlives the engine.
  parts.model = std::shared_ptr<const Model>(&session.model(), [](const Model*) {});
  parts.tokenizer = std::shared_ptr<const Tokenizer>(&session.tokenizer(), [](const Tokenizer*) {});
  parts.eos_token_ids = session.eos_ids();
  if (f.spec.enabled()) {
    // The draft runs like the target: same weight dtype, kernels, GEMM ISA and KV dtype, on the
    // target's worker pool (its own tune table, if it has one).
    LoadOptions draft_load = session.load_options();
    draft_load.gemm_tune_file.clear();
    draft_load.worker_pool = session.model().worker_pool();  // one set of compute threads
    f.spec.draft_kv_dtype = cfg.kv_dtype;
    XY_ASSIGN_OR_RETURN(parts.proposer, spec::make_proposer(f.spec, opts.model_dir,
                                                            session.model().config(), draft_load));
    cfg.num_speculative_tokens = f.spec.num_speculative_tokens;
  }
  return Engine::create(std::move(parts), cfg);
}

}  // namespace xy::cli
