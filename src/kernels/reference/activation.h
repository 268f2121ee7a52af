// The gated MLP activation of Llama-family models: out = silu(gate) * up.
#pragma once

#include <cstddef>

namespace xy::ref {

// silu(g) = g * sigmoid(g) = g / (1 + exp(-g)).
//   gate, up, out: [n] f32 (out may alias gate or up)
void silu_mul(const float* gate, const float* up, float* out, size_t n);

}  // namespace xy::ref
