// GGUF reading: a file written by gguf::Writer reads back with every metadata type, tensor shape,
// type and byte intact; the layout matches the format byte for byte where it is fixed; and each
// kind of corrupt or hostile file is a precise kFormatError / kUnsupported, never a crash (the
// fuzz target fuzz_gguf covers the rest).
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "kernels/reference/quant_blocks.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_writer.h"

namespace xy::gguf {
namespace {

using ref::BlockFormat;

std::vector<uint8_t> iota_bytes(size_t n, uint8_t start) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

Writer sample_writer(uint32_t alignment = 32) {
  Writer w(alignment);
  w.add_string("general.architecture", "llama");
  w.add_uint32("llama.block_count", 2);
  w.add_int32("test.negative", -7);
  w.add_uint64("test.big", 1ull << 40);
  w.add_float32("llama.rope.freq_base", 500000.0f);
  w.add_bool("tokenizer.ggml.add_bos_token", true);
  w.add_string_array("tokenizer.ggml.tokens", {"<s>", "a", "", "\xE2\x96\x81hello"});
  w.add_int32_array("tokenizer.ggml.token_type", {3, 1, 1, 1});
  w.add_float32_array("tokenizer.ggml.scores", {0.0f, -1.5f, -2.0f, 3.25f});
  w.add_tensor("token_embd.weight", {32, 3}, uint32_t(BlockFormat::kQ8_0), iota_bytes(3 * 34, 1));
  w.add_tensor("output_norm.weight", {5}, uint32_t(BlockFormat::kF32), iota_bytes(20, 100));
  w.add_tensor("blk.0.ffn_down.weight", {256, 2}, uint32_t(BlockFormat::kQ4_K),
               iota_bytes(2 * 144, 7));
  return w;
}

Result<File> parse(const std::vector<uint8_t>& b) {
  return parse_file(b.data(), b.size(), "m.gguf");
}

TEST(GgufFile, WrittenFileReadsBackCompletely) {
  for (uint32_t alignment : {32u, 64u, 1u}) {
    const std::vector<uint8_t> bytes = sample_writer(alignment).bytes();
    Result<File> f = parse(bytes);
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    EXPECT_EQ(f->version, 3u);
    EXPECT_EQ(f->alignment, alignment);
    EXPECT_EQ(f->data_offset % alignment, 0u);
    EXPECT_EQ(*f->get_string("general.architecture"), "llama");
    EXPECT_EQ(*f->get_int("llama.block_count"), 2);
    EXPECT_EQ(*f->get_int("test.negative"), -7);
    EXPECT_EQ(*f->get_int("test.big"), int64_t(1) << 40);
    EXPECT_EQ(*f->get_float("llama.rope.freq_base"), 500000.0);
    EXPECT_EQ(*f->get_float("llama.block_count"), 2.0);  // integers read as numbers too
    EXPECT_TRUE(*f->get_bool("tokenizer.ggml.add_bos_token"));
    const Value* tokens = f->find("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->type, ValueType::kArray);
    EXPECT_EQ(tokens->array_type, ValueType::kString);
    EXPECT_EQ(tokens->strings, (std::vector<std::string>{"<s>", "a", "", "\xE2\x96\x81hello"}));
    EXPECT_EQ(f->find("tokenizer.ggml.token_type")->ints, (std::vector<int64_t>{3, 1, 1, 1}));
    EXPECT_EQ(f->find("tokenizer.ggml.scores")->floats,
              (std::vector<double>{0.0, -1.5, -2.0, 3.25}));

    ASSERT_EQ(f->tensors.size(), 3u);
    const TensorInfo* emb = f->find_tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->dims, (std::vector<int64_t>{32, 3}));
    EXPECT_EQ(emb->ggml_type, uint32_t(BlockFormat::kQ8_0));
    EXPECT_EQ(emb->size, 3u * 34);
    EXPECT_EQ(emb->num_elements(), 96);
    EXPECT_EQ(std::vector<uint8_t>(emb->data, emb->data + emb->size), iota_bytes(3 * 34, 1));
    const TensorInfo* down = f->find_tensor("blk.0.ffn_down.weight");
    ASSERT_NE(down, nullptr);
    EXPECT_EQ(down->offset % alignment, 0u);
    EXPECT_EQ(std::vector<uint8_t>(down->data, down->data + down->size), iota_bytes(288, 7));
    EXPECT_EQ(f->find_tensor("nope"), nullptr);
  }
}

TEST(GgufFile, HeaderBytesAreTheFormats) {
  Writer w;
  w.add_uint32("k", 0x01020304);
  const std::vector<uint8_t> b = w.bytes();
  const uint8_t want[] = {'G', 'G', 'U', 'F', 3, 0, 0, 0,       // magic, version 3
                          0,   0,   0,   0,   0, 0, 0, 0,       // 0 tensors
                          1,   0,   0,   0,   0, 0, 0, 0,       // 1 key-value pair
                          1,   0,   0,   0,   0, 0, 0, 0, 'k',  // key "k"
                          4,   0,   0,   0,                     // uint32
                          4,   3,   2,   1};
  ASSERT_GE(b.size(), sizeof(want));
  EXPECT_EQ(std::memcmp(b.data(), want, sizeof(want)), 0);
  EXPECT_TRUE(parse(b).is_ok());
}

TEST(GgufFile, TypedGettersNameTheKeyOnAMismatch) {
  const std::vector<uint8_t> bytes = sample_writer().bytes();
  File f = *parse(bytes);
  EXPECT_EQ(f.get_string("missing").status().code(), ErrorCode::kNotFound);
  Result<std::string> s = f.get_string("llama.block_count");
  EXPECT_EQ(s.status().code(), ErrorCode::kFormatError);
  EXPECT_NE(s.status().message().find("llama.block_count"), std::string::npos);
  EXPECT_EQ(f.get_int("general.architecture").status().code(), ErrorCode::kFormatError);
  EXPECT_EQ(f.get_bool("llama.block_count").status().code(), ErrorCode::kFormatError);
}

// Byte offset of the first occurrence of `needle` (a marker the test writes).
size_t find_bytes(const std::vector<uint8_t>& hay, const std::string& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  EXPECT_NE(it, hay.end()) << needle;
  return size_t(it - hay.begin());
}

void expect_error(const std::vector<uint8_t>& bytes, ErrorCode code, const std::string& text) {
  Result<File> f = parse(bytes);
  ASSERT_FALSE(f.is_ok()) << "expected an error mentioning: " << text;
  EXPECT_EQ(f.status().code(), code) << f.status().to_string();
  EXPECT_NE(f.status().message().find(text), std::string::npos) << f.status().to_string();
  EXPECT_EQ(f.status().message().rfind("m.gguf: ", 0), 0u) << f.status().to_string();
}

TEST(GgufFile, EveryTruncationIsAnErrorNotACrash) {
  const std::vector<uint8_t> bytes = sample_writer().bytes();
  // Up to the last tensor's last byte; the padding after it may go.
  File full = *parse(bytes);
  size_t end = 0;
  for (const TensorInfo& t : full.tensors)
    end = std::max<size_t>(end, full.data_offset + t.offset + t.size);
  ASSERT_LE(end, bytes.size());
  for (size_t n = 0; n < end; ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + long(n));
    Result<File> f = parse(cut);
    ASSERT_FALSE(f.is_ok()) << "a file cut to " << n << " bytes parsed";
    EXPECT_EQ(f.status().code(), ErrorCode::kFormatError) << n << ": " << f.status().to_string();
  }
}

TEST(GgufFile, CorruptHeadersGivePreciseErrors) {
  const std::vector<uint8_t> good = sample_writer().bytes();
  auto patched = [&](size_t at, const void* v, size_t n) {
    std::vector<uint8_t> b = good;
    std::memcpy(b.data() + at, v, n);
    return b;
  };
  expect_error(patched(0, "GGML", 4), ErrorCode::kFormatError, "not a GGUF file");
  const uint32_t v1 = 1, v9 = 9;
  expect_error(patched(4, &v1, 4), ErrorCode::kUnsupported, "GGUF version 1");
  expect_error(patched(4, &v9, 4), ErrorCode::kUnsupported, "GGUF version 9");
  const uint64_t huge = 1ull << 60;
  expect_error(patched(8, &huge, 8), ErrorCode::kFormatError, "more than the file's");
  expect_error(patched(16, &huge, 8), ErrorCode::kFormatError, "more than the file's");

  // A string whose length runs past the end of the file.
  const size_t key_len_at = 24;  // the first key's u64 length
  expect_error(patched(key_len_at, &huge, 8), ErrorCode::kFormatError, "metadata key #0");
  // An unknown value type.
  const size_t type_at = find_bytes(good, "general.architecture") + 20;
  const uint32_t bad_type = 77;
  expect_error(patched(type_at, &bad_type, 4), ErrorCode::kFormatError, "unknown value type 77");
  // An array claiming more items than bytes remain.
  const size_t count_at = find_bytes(good, "tokenizer.ggml.tokens") + 21 + 4 + 4;
  expect_error(patched(count_at, &huge, 8), ErrorCode::kFormatError, "claims");
  // A bool that is neither 0 nor 1.
  const size_t bool_at = find_bytes(good, "tokenizer.ggml.add_bos_token") + 28 + 4;
  const uint8_t two = 2;
  expect_error(patched(bool_at, &two, 1), ErrorCode::kFormatError, "must be 0 or 1");
}

TEST(GgufFile, CorruptTensorInfosGivePreciseErrors) {
  const std::vector<uint8_t> good = sample_writer().bytes();
  const size_t info = find_bytes(good, "output_norm.weight") + 18;  // after the name
  auto patched = [&](size_t at, const void* v, size_t n) {
    std::vector<uint8_t> b = good;
    std::memcpy(b.data() + at, v, n);
    return b;
  };
  const uint32_t five = 5, zero32 = 0;
  expect_error(patched(info, &five, 4), ErrorCode::kFormatError, "5 dimensions");
  expect_error(patched(info, &zero32, 4), ErrorCode::kFormatError, "0 dimensions");
  const uint64_t zero = 0, huge = ~0ull;
  expect_error(patched(info + 4, &zero, 8), ErrorCode::kFormatError, "invalid dimension 0");
  expect_error(patched(info + 4, &huge, 8), ErrorCode::kFormatError, "invalid dimension");
  const uint32_t type_q2 = 200, type_q8 = uint32_t(BlockFormat::kQ8_0);
  expect_error(patched(info + 12, &type_q2, 4), ErrorCode::kUnsupported,
               "'output_norm.weight' has tensor type 200");
  expect_error(patched(info + 12, &type_q8, 4), ErrorCode::kFormatError,
               "not a multiple of its block of 32");
  const uint64_t misaligned = 4, far = 1ull << 50;
  expect_error(patched(info + 16, &misaligned, 8), ErrorCode::kFormatError,
               "not a multiple of the alignment 32");
  expect_error(patched(info + 16, &far, 8), ErrorCode::kFormatError,
               "truncated: tensor 'output_norm.weight'");
  // Pointing the second tensor at the first one's bytes.
  expect_error(patched(info + 16, &zero, 8), ErrorCode::kFormatError, "overlap");
}

TEST(GgufFile, DuplicateNamesAndBadAlignmentAreRejected) {
  Writer dup_kv;
  dup_kv.add_uint32("a", 1);
  dup_kv.add_uint32("a", 2);
  expect_error(dup_kv.bytes(), ErrorCode::kFormatError, "'a' appears twice");

  Writer dup_tensor;
  dup_tensor.add_tensor("t", {4}, uint32_t(BlockFormat::kF32), iota_bytes(16, 0));
  dup_tensor.add_tensor("t", {4}, uint32_t(BlockFormat::kF32), iota_bytes(16, 0));
  expect_error(dup_tensor.bytes(), ErrorCode::kFormatError, "tensor 't' appears twice");

  Writer bad_alignment;
  bad_alignment.add_uint32("general.alignment", 24);
  expect_error(bad_alignment.bytes(), ErrorCode::kFormatError, "power-of-two");

  Writer nested;
  nested.add_uint32("x", 1);
  std::vector<uint8_t> b = nested.bytes();
  // Rewrite the value as an array of arrays: type 9, element type 9, count 0. The value's type
  // follows the 24-byte header and the key (8-byte length + "x").
  b.resize(24 + 9);
  for (uint32_t v : {9u, 9u}) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + 4);
  }
  b.resize(b.size() + 8, 0);
  expect_error(b, ErrorCode::kUnsupported, "array of arrays");
}

TEST(GgufFile, AFileWithoutTensorsNeedsNoDataSection) {
  Writer w;
  w.add_string("general.name", "empty");
  Result<File> f = parse(w.bytes());
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_TRUE(f->tensors.empty());
}

}  // namespace
}  // namespace xy::gguf
