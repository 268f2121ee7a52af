// Residual connections: the elementwise sum of a layer's input and its branch output.
#pragma once

#include <cstddef>

namespace xy::ref {

// out[i] = a[i] + b[i]; out may alias a or b.   a, b, out: [n] f32
void add(const float* a, const float* b, float* out, size_t n);

}  // namespace xy::ref
