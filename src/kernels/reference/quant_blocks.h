// Block-quantized weight formats as GGUF files store them, and their dequantization written as
// the formats define it: the oracle every quantized kernel and loader is tested against.
//
// A row of n elements (n a multiple of the format's block length) is n / block_elems blocks laid
// end to end. Every block carries its own scale(s) as IEEE f16; quant values are packed
// little-endian nibbles / bit planes. Layouts (bytes per block):
//   Q8_0  [34]  d:f16, q:int8[32]                         y = d*q
//   Q4_0  [18]  d:f16, qs[16]                              y = d*(nibble-8); low nibbles are
//                                                          elements 0..15, high ones 16..31
//   Q4_1  [20]  d:f16, m:f16, qs[16]                       y = d*nibble + m
//   Q5_0  [22]  d:f16, qh:u32, qs[16]                      5th bit of element i is bit i of qh;
//                                                          y = d*(q5-16)
//   Q5_1  [24]  d:f16, m:f16, qh:u32, qs[16]               y = d*q5 + m
//   Q4_K  [144] d:f16, dmin:f16, scales[12], qs[128]       256 elements in 8 sub-blocks of 32,
//               each with a 6-bit scale and min packed into scales[12]; y = d*sc*q - dmin*m
//   Q5_K  [176] d:f16, dmin:f16, scales[12], qh[32], qs[128]   as Q4_K with a 5th bit plane
//   Q6_K  [210] ql[128], qh[64], scales:int8[16], d:f16    16 sub-blocks of 16; y = d*sc*(q6-32)
// F32, F16 and BF16 rows are plain arrays (block length 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace xy::ref {

// GGML's type ids, which GGUF tensor infos store: the numbering is part of the file format.
enum class BlockFormat : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

struct BlockFormatInfo {
  std::string_view name;       // "Q4_K", as llama.cpp names it
  int block_elems = 0;         // elements per block
  int block_bytes = 0;         // bytes per block
  bool dequantizable = false;  // dequantize_row() supports it
};

// The format with GGML type id `id`, or nullptr when the id names no format whose size is known
// here. Formats with dequantizable == false can be measured (a file holding them can be
// parsed) but not read.
const BlockFormatInfo* block_format_info(uint32_t id);

// Bytes of a row of n elements; n must be a multiple of the block length (checked).
size_t block_format_row_bytes(BlockFormat format, int64_t n);

// out[0, n) = the values encoded by the n / block_elems blocks at `blocks` (no alignment needed).
// n must be a multiple of the block length and the format dequantizable (both checked).
void dequantize_row(BlockFormat format, const uint8_t* blocks, float* out, int64_t n);

// The "code form" of the 32-element groups of the integer formats, which quantized kernels compute
// with: group element i is d * (code[i] - offset) for the symmetric formats (Q8_0: code = q + 128,
// offset 128; Q4_0: offset 8; Q5_0: offset 16) and d * code[i] - m for the ones with a minimum
// (Q4_1: m = -min; Q4_K / Q5_K: d = d_super * sc, m = dmin * mn, one group per sub-block). Every
// value is then exactly what dequantize_row() gives (it is computed from this form).
struct CodeGroup {
  uint8_t code[32];
  float d = 0.0f;
  float m = 0.0f;   // formats with a minimum
  int offset = -1;  // symmetric formats; -1 for those with a minimum
};

// Bits of a code of `format`'s code form (4: Q4_0, Q4_1, Q4_K; 5: Q5_0, Q5_1, Q5_K; 8: Q8_0), or 0
// when the format has none (F32, F16, BF16, Q6_K with its 16-element sub-blocks, ...).
int code_bits(BlockFormat format);

// Decodes the block at `block` (code_bits(format) > 0, checked) into out[0, n) and returns n:
// 1 group for the 32-element formats, 8 for the 256-element K formats.
int decode_code_groups(BlockFormat format, const uint8_t* block, CodeGroup* out);

// Q6_K's code form, per 32 elements: element i is d * sc[i / 16] * (code[i] - 32), codes 0..63,
// d the super-block's f16 scale (raw bits), sc the two int8 sub-block scales. The product
// d * sc * (code - 32) is exact in f32 (at most 11 + 7 + 5 significant bits), so this form
// rebuilds dequantize_row's values bit for bit.
struct Q6Group {
  uint8_t code[32];
  uint16_t d = 0;
  int8_t sc[2] = {0, 0};
};
// Decodes one Q6_K super-block into its 8 groups.
void decode_q6_k_groups(const uint8_t* block, Q6Group* out);

// Quantizes n floats (a multiple of 32) into Q8_0 / Q4_0 blocks at `blocks` (the inverse of
// dequantize_row, as llama.cpp's reference quantizers define it):
//   Q8_0: d = max|x| / 127, q = round(x / d)
//   Q4_0: d = m / -8 where m is the value of largest magnitude, q = min(15, trunc(x / d + 8.5))
// so every value is within d/2 (Q8_0) or d (Q4_0's edge) of its reconstruction.
void quantize_row_q8_0(const float* x, uint8_t* blocks, int64_t n);
void quantize_row_q4_0(const float* x, uint8_t* blocks, int64_t n);
// Q5_0 as Q4_0 with 32 levels: d = m / -16, q = min(31, trunc(x / d + 16.5)).
void quantize_row_q5_0(const float* x, uint8_t* blocks, int64_t n);
// The K formats (n a multiple of 256), by direct min/max fits (not llama.cpp's iterative search):
//   Q4_K: per 32-element sub-block, min = min(0, min x) and scale = (max x - min) / 15; the eight
//         scales and mins are stored as 6-bit multiples of d = max scale / 63 and
//         dmin = max -min / 63, and q = round((x + dmin*m) / (d*sc)) in 0..15.
//   Q6_K: per 16-element sub-block, scale = (largest |x|) / 31 signed as that value; the sixteen
//         scales are int8 multiples of d = max |scale| / 127, and q = round(x / (d*sc)) in
//         -32..31.
void quantize_row_q4_k(const float* x, uint8_t* blocks, int64_t n);
void quantize_row_q6_k(const float* x, uint8_t* blocks, int64_t n);

}  // namespace xy::ref
