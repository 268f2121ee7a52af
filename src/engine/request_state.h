// The engine's per-request state beside the scheduler's Sequence: sampling state (parameters,
// random stream, penalty history), streaming state (detokenizer, stop checker, output stream)
// and timings. Survives preemption unchanged: a recomputed request continues the same random
// stream and the same text.
//
// Thread: engine thread only (the stream is the thread-safe part).
#pragma once

#include <memory>
#include <optional>

#include "engine/engine.h"
#include "engine/output_stream.h"
#include "engine/sampling/rng.h"
#include "engine/sampling/token_history.h"
#include "engine/stop_checker.h"
#include "grammar/matcher.h"
#include "tokenizer/streaming_detokenizer.h"

namespace xy {

struct RequestState {
  RequestState(SeqId id_, const EngineRequest& request, int max_new_tokens,
               std::vector<int32_t> eos_ids, const Tokenizer* tokenizer,
               std::shared_ptr<OutputStream> stream_)
      : id(id_),
        params(request.sampling),
        rng(RequestRng::create(request.sampling.seed)),
        history(request.prompt_tokens),
        stop(request.stop, std::move(eos_ids), max_new_tokens),
        stream(std::move(stream_)),
        num_prompt_tokens(static_cast<int>(request.prompt_tokens.size())) {
    if (tokenizer != nullptr && request.detokenize) {
      detok.emplace(*tokenizer, request.skip_special_tokens);
    }
    if (request.grammar) matcher.emplace(request.grammar, stop.stop_token_ids());
  }

  bool wants_logprobs() const { return params.logprobs > 0 || params.return_sampled_logprob; }

  SeqId id;
  SamplingParams params;
  RequestRng rng;
  TokenHistory history;  // prompt + outputs, for the penalties
  std::optional<StreamingDetokenizer> detok;
  StopChecker stop;
  // Structured output: the grammar's position after the tokens generated so far.
  std::optional<grammar::GrammarMatcher> matcher;
  bool forced_drafts = false;  // this step's drafts are the grammar's forced text, not proposed
  // Disaggregation: copy the prompt's K/V out when it is computed; or the K/V that arrived with
  // the request, until the admission step has written it into the cache.
  bool export_kv = false;
  std::shared_ptr<const KvSnapshot> kv_export;
  std::shared_ptr<const KvSnapshot> imported_kv;
  std::shared_ptr<OutputStream> stream;
  RequestTimings timings;
  int num_prompt_tokens = 0;
  int num_generated = 0;
  int cached_tokens = 0;
  bool finished = false;
};

}  // namespace xy
