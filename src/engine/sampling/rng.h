// Counter-based random numbers for sampling: Philox4x32-10 (Salmon et al., SC'11, "Parallel
// random numbers: as easy as 1, 2, 3"), implemented here so that the same seed yields the same
// bits with every compiler and standard library (std:: distributions do not).
//
// Each request owns one RequestRng. Draw i of a request is Philox(counter = i, key = seed): a pure
// function of (seed, i), so a request's tokens do not depend on which other requests share its
// batch, on thread scheduling, or on how often the engine was restarted around it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace xy {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

// The raw block function: 10 rounds of Philox4x32 (matches Random123's philox4x32_R(10, ...)).
PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key);

// A request's stream of uniform draws. Not thread-safe; owned by the request, used by the thread
// that samples it. Copyable: a copy continues the same stream (used to replay or to snapshot).
class RequestRng {
 public:
  explicit RequestRng(uint64_t seed) : seed_(seed) {}
  // Uses `seed` when set; otherwise draws a fresh seed from std::random_device.
  static RequestRng create(std::optional<uint64_t> seed);

  uint64_t seed() const { return seed_; }
  // Draws consumed so far. Saving it and restoring with set_position() replays the stream (e.g.
  // a preempted request recomputed from scratch continues with the same random numbers).
  uint64_t position() const { return position_; }
  void set_position(uint64_t position) { position_ = position; }

  uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double next_uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

 private:
  uint64_t seed_;
  uint64_t position_ = 0;
};

}  // namespace xy
