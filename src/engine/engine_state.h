// What the engine loop owns (Engine::State): KV storage, block manager, scheduler, sampler,
// forward scratch and the per-request states. Private to engine*.cpp.
//
// Thread: guarded by Engine::state_mu_ (the loop thread holds it for a whole step).
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"
#include "engine/kv_cache/block_manager.h"
#include "engine/request_state.h"
#include "engine/scheduler/scheduler.h"
#include "engine/step_sampler.h"
#include "grammar/mask_prefetcher.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace xy {

struct Engine::State {
  State(KvCache cache, const EngineConfig& cfg, const SchedulerConfig& sched)
      : kv(std::move(cache)),
        blocks(kv.num_blocks(), cfg.block_size, cfg.enable_prefix_caching),
        scheduler(sched, blocks) {}

  KvCache kv;
  BlockManager blocks;
  Scheduler scheduler;
  StepSampler sampler;
  // Structured output: next-step token masks computed while the next forward runs.
  grammar::MaskPrefetcher masks;
  ForwardScratch scratch;
  std::vector<float> logits;  // [num logit rows of the step, vocab]
  std::unordered_map<SeqId, std::unique_ptr<RequestState>> requests;
};

}  // namespace xy
