// libFuzzer driver: arbitrary bytes as a GGUF file. The parser must return a value or an error,
// never crash, read out of bounds or allocate beyond what the input's size justifies; its
// tokenizer metadata converts or fails cleanly; tensors it
// accepts must lie inside the input, and dequantizable ones are dequantized (first row) to prove
// it.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/check.h"
#include "kernels/reference/quant_blocks.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xy::Result<xy::gguf::File> f = xy::gguf::parse_file(data, size, "fuzz.gguf");
  if (!f.is_ok()) return 0;
  // The tokenizer metadata, turned into tokenizer.json text: an error value, never a throw.
  (void)xy::gguf::tokenizer_files_from_gguf(*f, "fuzz.gguf");
  for (const xy::gguf::TensorInfo& t : f->tensors) {
    XY_CHECK(t.data >= data && t.size <= size && t.data + t.size <= data + size);
    const xy::ref::BlockFormatInfo* info = xy::ref::block_format_info(t.ggml_type);
    XY_CHECK(info != nullptr);
    if (!info->dequantizable || t.dims[0] > (1 << 16)) continue;
    std::vector<float> row(size_t(t.dims[0]));
    xy::ref::dequantize_row(xy::ref::BlockFormat(t.ggml_type), t.data, row.data(), t.dims[0]);
  }
  return 0;
}
