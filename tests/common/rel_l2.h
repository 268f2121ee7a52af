// The tolerance measure of the kernel and model tests: relative L2 error ||got - want|| / ||want||
// in double (absolute L2 when `want` is all zeros).
#pragma once

#include <cmath>
#include <vector>

namespace xy::testing_common {

inline double rel_l2(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace xy::testing_common
