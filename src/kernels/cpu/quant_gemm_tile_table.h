// The (mr, np, bits, has_min) -> tile function table each QuantGEMM ISA file builds from its own
// tile template: one switch over kQuantGemmKernelShapes for all of them. `Tiles` is a struct with
// a static member template run<MR, NP, BITS, MIN> (a QuantTileFn).
#pragma once

#include "kernels/cpu/quant_gemm_tiles.h"

namespace xy::cpu::detail {

template <class Tiles, int BITS, bool MIN>
QuantTileFn quant_tile_for_shape(int mr, int np) {
  switch (mr * 8 + np) {
    case 1 * 8 + 4:
      return &Tiles::template run<1, 4, BITS, MIN>;
    case 2 * 8 + 4:
      return &Tiles::template run<2, 4, BITS, MIN>;
    case 4 * 8 + 2:
      return &Tiles::template run<4, 2, BITS, MIN>;
    case 6 * 8 + 2:
      return &Tiles::template run<6, 2, BITS, MIN>;
    default:
      return nullptr;
  }
}

// nullptr when (mr, np) is not a QuantGEMM tile or (bits, has_min) is not (4 or 8, any) or
// (6, false).
template <class Tiles>
QuantTileFn quant_tile_for(int mr, int np, int bits, bool has_min) {
  if (bits == 8) {
    return has_min ? quant_tile_for_shape<Tiles, 8, true>(mr, np)
                   : quant_tile_for_shape<Tiles, 8, false>(mr, np);
  }
  if (bits == 4) {
    return has_min ? quant_tile_for_shape<Tiles, 4, true>(mr, np)
                   : quant_tile_for_shape<Tiles, 4, false>(mr, np);
  }
  if (bits == 6 && !has_min) return quant_tile_for_shape<Tiles, 6, false>(mr, np);
  return nullptr;
}

}  // namespace xy::cpu::detail
