// Malformed safetensors files and indexes: each must give the right error code and a message
// naming the file and, where one is involved, the tensor — never a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "model/safetensors.h"
#include "model/safetensors_file.h"

namespace xy {
namespace {

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("xy_io_err_") + info->test_suite_name() + "_" + info->name() +
                       "_" + std::to_string(::getpid());
    for (char& ch : name) {
      if (ch == '/') ch = '_';
    }
    path_ = (std::filesystem::temp_directory_path() / name).string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  return s;
}

// A file image: length prefix, header padded to 8 bytes, `data_bytes` random bytes.
std::string image(const std::string& header, size_t data_bytes) {
  std::string h = header;
  h.append((8 - (8 + h.size()) % 8) % 8, ' ');
  std::string out = le64(h.size()) + h;
  std::mt19937 rng(static_cast<uint32_t>(data_bytes));
  for (size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<char>(rng()));
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct BadFile {
  const char* what;
  std::string bytes;
  ErrorCode code;
  std::vector<std::string> needles;  // besides the file path
};

std::vector<BadFile> bad_files() {
  const std::string ok_entry = R"("w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]})";
  return {
      {"empty file", "", ErrorCode::kFormatError, {"0 bytes"}},
      {"shorter than the length prefix",
       std::string("\x10\x00\x00", 3),
       ErrorCode::kFormatError,
       {"3 bytes"}},
      {"header length past EOF",
       le64(1000) + "{}",
       ErrorCode::kFormatError,
       {"header length 1000", "past the end"}},
      {"header length near 2^64",
       le64(~uint64_t{0}) + "{}",
       ErrorCode::kFormatError,
       {"header length 18446744073709551615"}},
      {"zero header length", le64(0), ErrorCode::kFormatError, {"does not start with '{'"}},
      {"header not an object",
       image("[1, 2, 3]", 0),
       ErrorCode::kFormatError,
       {"does not start with '{'"}},
      {"header not JSON", image("{\"w\": ", 0), ErrorCode::kFormatError, {"not valid JSON"}},
      {"truncated data",
       image("{" + ok_entry + "}", 20),
       ErrorCode::kFormatError,
       {"header says data section is 24 bytes but file has 20", "'w'"}},
      {"offsets past data",
       image(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [96, 104]}})", 64),
       ErrorCode::kFormatError,
       {"data section is 104 bytes but file has 64", "'w'"}},
      {"overlapping tensors",
       image(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                 "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
             24),
       ErrorCode::kFormatError,
       {"'a' [0, 16) and 'b' [8, 24) overlap"}},
      {"one tensor inside another",
       image(R"({"big": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]},
                 "mid": {"dtype": "F16", "shape": [2], "data_offsets": [28, 32]},
                 "small": {"dtype": "F16", "shape": [2], "data_offsets": [8, 12]}})",
             32),
       ErrorCode::kFormatError,
       {"'big' [0, 32) and 'small' [8, 12) overlap"}},
      {"size mismatch",
       image(R"({"w": {"dtype": "BF16", "shape": [3, 5], "data_offsets": [0, 32]}})", 32),
       ErrorCode::kFormatError,
       {"'w'", "span 32 bytes", "needs 30"}},
      {"negative shape",
       image(R"({"w": {"dtype": "F32", "shape": [2, -3], "data_offsets": [0, 24]}})", 24),
       ErrorCode::kFormatError,
       {"'w'", "shape[1] must be a non-negative integer, got -3"}},
      {"fractional shape",
       image(R"({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", 8),
       ErrorCode::kFormatError,
       {"'w'", "shape[0]"}},
      {"string shape",
       image(R"({"w": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}})", 8),
       ErrorCode::kFormatError,
       {"'w'", "'shape' must be an array"}},
      {"unknown dtype",
       image(R"({"w": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}})", 8),
       ErrorCode::kFormatError,
       {"'w'", "unknown dtype 'F33'"}},
      {"unsupported dtype I64",
       image(R"({"ids": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})", 16),
       ErrorCode::kUnsupported,
       {"'ids'", "dtype 'I64' is not supported"}},
      {"unsupported dtype F8_E4M3",
       image(R"({"q": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}})", 2),
       ErrorCode::kUnsupported,
       {"'q'", "'F8_E4M3'"}},
      {"dtype not a string",
       image(R"({"w": {"dtype": 4, "shape": [2], "data_offsets": [0, 8]}})", 8),
       ErrorCode::kFormatError,
       {"'w'", "'dtype' must be a string"}},
      {"offsets out of order",
       image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8),
       ErrorCode::kFormatError,
       {"'w'", "out of order"}},
      {"three offsets",
       image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})", 8),
       ErrorCode::kFormatError,
       {"'w'", "[begin, end]"}},
      {"negative offset",
       image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", 8),
       ErrorCode::kFormatError,
       {"'w'", "non-negative 64-bit"}},
      {"offset beyond 2^64",
       image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 36893488147419103232]}})",
             8),
       ErrorCode::kFormatError,
       {"'w'", "non-negative 64-bit"}},
      {"shape product overflows",
       image(
           R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})",
           8),
       ErrorCode::kFormatError,
       {"'w'", "more elements than fit in 64 bits"}},
      {"zero dim does not hide an overflowing shape",
       image(
           R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 0], "data_offsets": [0, 0]}})",
           8),
       ErrorCode::kFormatError,
       {"'w'", "more elements than fit in 64 bits"}},
      {"byte size overflows",
       image(R"({"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}})",
             8),
       ErrorCode::kFormatError,
       {"'w'", "too large"}},
      {"wrapped byte size matches",
       image(R"({"w": {"dtype": "F32", "shape": [4611686018427387905], "data_offsets": [0, 4]}})",
             8),
       ErrorCode::kFormatError,
       {"'w'", "too large"}},
      {"missing data_offsets",
       image(R"({"w": {"dtype": "F32", "shape": [1]}})", 8),
       ErrorCode::kFormatError,
       {"'w'", "missing 'data_offsets'"}},
      {"missing dtype",
       image(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 8),
       ErrorCode::kFormatError,
       {"'w'", "missing 'dtype'"}},
      {"entry not an object",
       image(R"({"w": [1, 2]})", 8),
       ErrorCode::kFormatError,
       {"'w'", "must be a JSON object"}},
      {"duplicate tensor name",
       image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                 "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
             8),
       ErrorCode::kFormatError,
       {"'w' appears twice"}},
      {"metadata not a string map",
       image(R"({"__metadata__": {"format": 1}})", 0),
       ErrorCode::kFormatError,
       {"'__metadata__'", "'format'"}},
      {"empty tensor name",
       image(R"({"": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8),
       ErrorCode::kFormatError,
       {"empty name"}},
  };
}

TEST(SafetensorsErrors, CorruptFilesGivePreciseErrors) {
  TempDir dir;
  for (const BadFile& c : bad_files()) {
    const std::string path = dir.file("model.safetensors");
    write_file(path, c.bytes);
    Result<std::unique_ptr<SafetensorsArchive>> r = SafetensorsArchive::open_file(path);
    ASSERT_FALSE(r.is_ok()) << c.what;
    EXPECT_EQ(r.status().code(), c.code) << c.what << ": " << r.status().to_string();
    EXPECT_NE(r.status().message().find("file " + path), std::string::npos)
        << c.what << ": " << r.status().to_string();
    for (const std::string& needle : c.needles) {
      EXPECT_NE(r.status().message().find(needle), std::string::npos)
          << c.what << ": '" << needle << "' not in " << r.status().to_string();
    }
    // The in-memory parser agrees with the mapped one.
    Result<std::vector<TensorInfo>> mem = parse_safetensors_file(
        reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size(), path);
    ASSERT_FALSE(mem.is_ok()) << c.what;
    EXPECT_EQ(mem.status().message(), r.status().message());
  }
}

// Cutting a valid file anywhere inside its data section is reported as truncation, naming
// both sizes; cutting inside the header as a header length past the end.
TEST(SafetensorsErrors, EveryTruncationIsCaught) {
  const std::string full = image(
      R"({"a": {"dtype": "F16", "shape": [3, 7], "data_offsets": [0, 42]},
          "b": {"dtype": "F16", "shape": [5], "data_offsets": [42, 52]}})",
      52);
  const size_t data_start = full.size() - 52;
  for (size_t len = 0; len < full.size(); ++len) {
    Result<std::vector<TensorInfo>> r = parse_safetensors_file(
        reinterpret_cast<const uint8_t*>(full.data()), len, "cut.safetensors");
    ASSERT_FALSE(r.is_ok()) << len;
    EXPECT_EQ(r.status().code(), ErrorCode::kFormatError);
    if (len >= data_start) {
      EXPECT_NE(r.status().message().find("header says data section is 52 bytes but file has " +
                                          std::to_string(len - data_start) + " (tensor 'b'"),
                std::string::npos)
          << r.status().message();
    }
  }
  EXPECT_TRUE(parse_safetensors_file(reinterpret_cast<const uint8_t*>(full.data()), full.size(),
                                     "full.safetensors")
                  .is_ok());
}

// Headers without the 8-byte padding (writers before safetensors 0.3): the archive copies the
// file to an aligned buffer and the tensors read back exactly.
TEST(SafetensorsAlignment, UnpaddedHeaderIsCopiedAndLoads) {
  std::mt19937 rng(42);
  std::vector<float> a(7);     // [7] f32
  std::vector<uint16_t> b(5);  // [5] bf16
  std::vector<uint16_t> c(3);  // [3] f16
  for (float& x : a) x = static_cast<float>(rng()) / 1e6f - 2000.0f;
  for (uint16_t& x : b) x = static_cast<uint16_t>(rng());
  for (uint16_t& x : c) x = static_cast<uint16_t>(rng());
  for (int pad = 0; pad < 8; ++pad) {  // every residue of the data section start
    std::string h = R"({"a":{"dtype":"F32","shape":[7],"data_offsets":[0,28]},)"
                    R"("b":{"dtype":"BF16","shape":[5],"data_offsets":[28,38]},)"
                    R"("c":{"dtype":"F16","shape":[3],"data_offsets":[38,44]}})";
    h.append(static_cast<size_t>(pad), ' ');
    std::string bytes = le64(h.size()) + h;
    bytes.append(reinterpret_cast<const char*>(a.data()), 28);
    bytes.append(reinterpret_cast<const char*>(b.data()), 10);
    bytes.append(reinterpret_cast<const char*>(c.data()), 6);
    TempDir dir;
    write_file(dir.file("model.safetensors"), bytes);
    Result<std::unique_ptr<SafetensorsArchive>> r = SafetensorsArchive::open_dir(dir.path());
    ASSERT_TRUE(r.is_ok()) << pad << ": " << r.status().to_string();
    const TensorInfo* ta = (*r)->find("a");
    const TensorInfo* tb = (*r)->find("b");
    const TensorInfo* tc = (*r)->find("c");
    ASSERT_TRUE(ta && tb && tc);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(ta->data) % 4, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(tb->data) % 2, 0u);
    EXPECT_EQ(std::memcmp(ta->data, a.data(), 28), 0);
    EXPECT_EQ(std::memcmp(tb->data, b.data(), 10), 0);
    EXPECT_EQ(std::memcmp(tc->data, c.data(), 6), 0);
  }
}

// A tensor misaligned inside the data section cannot be fixed by shifting the file (unless
// the unshifted file already aligns it).
TEST(SafetensorsAlignment, MisalignedTensorIsUnsupported) {
  const std::string h = R"({"a":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[6,10]}})";
  for (int pad = 0; pad < 8; ++pad) {
    TempDir dir;
    const std::string hp = h + std::string(static_cast<size_t>(pad), ' ');
    write_file(dir.file("model.safetensors"), le64(hp.size()) + hp + "0123456789");
    Result<std::unique_ptr<SafetensorsArchive>> r = SafetensorsArchive::open_dir(dir.path());
    if ((8 + hp.size() + 6) % 4 == 0) {  // this header length happens to align both in place
      EXPECT_TRUE(r.is_ok()) << pad << ": " << r.status().to_string();
      continue;
    }
    ASSERT_FALSE(r.is_ok()) << pad;
    EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
    EXPECT_NE(r.status().message().find("tensor 'b'"), std::string::npos);
    EXPECT_NE(r.status().message().find("(byte 6 of the data section) is not aligned"),
              std::string::npos)
        << r.status().to_string();
    EXPECT_NE(r.status().message().find(dir.file("model.safetensors")), std::string::npos);
  }
  // The in-memory parser reads in place and so refuses a misaligned image outright.
  std::string hp = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  while ((8 + hp.size()) % 8 != 2) hp.push_back(' ');
  const std::string image_bytes = le64(hp.size()) + hp + "abcd";
  std::vector<uint64_t> storage(image_bytes.size() / 8 + 1);  // 8-byte aligned
  std::memcpy(storage.data(), image_bytes.data(), image_bytes.size());
  Result<std::vector<TensorInfo>> mem = parse_safetensors_file(
      reinterpret_cast<const uint8_t*>(storage.data()), image_bytes.size(), "m.safetensors");
  EXPECT_EQ(mem.status().code(), ErrorCode::kUnsupported) << mem.status().to_string();
}

// The pure header parser: non-object JSON, and holes / trailing bytes in the data section,
// which the format does not forbid.
TEST(SafetensorsHeader, DirectCases) {
  for (const char* text : {"[]", "3", "\"x\"", "null", "true"}) {
    Result<std::vector<TensorInfo>> r = parse_safetensors_header(text, 0, "h.safetensors");
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.status().code(), ErrorCode::kFormatError);
    EXPECT_NE(r.status().message().find("header must be a JSON object"), std::string::npos);
    EXPECT_NE(r.status().message().find("h.safetensors"), std::string::npos);
  }
  Result<std::vector<TensorInfo>> r = parse_safetensors_header(
      R"({"z": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [16, 24]},
          "e": {"dtype": "F32", "shape": [0, 5], "data_offsets": [100, 100]},
          "s": {"dtype": "F32", "shape": [], "data_offsets": [4, 8]},
          "__metadata__": {"format": "pt", "note": "x"}}   )",
      100, "h.safetensors");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].name, "e");  // sorted by name
  EXPECT_EQ((*r)[0].numel(), 0);
  EXPECT_EQ((*r)[0].num_bytes, 0u);
  EXPECT_EQ((*r)[1].name, "s");
  EXPECT_EQ((*r)[1].numel(), 1);  // a scalar
  EXPECT_EQ((*r)[2].name, "z");
  EXPECT_EQ((*r)[2].dtype, DType::kBF16);
  EXPECT_EQ((*r)[2].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ((*r)[2].num_bytes, 8u);
  for (const TensorInfo& t : *r) {
    EXPECT_EQ(t.data, nullptr);
    EXPECT_EQ(t.file, "h.safetensors");
  }
  // An empty tensor may sit exactly at the end but not beyond it.
  Result<std::vector<TensorInfo>> beyond = parse_safetensors_header(
      R"({"e": {"dtype": "F32", "shape": [0], "data_offsets": [101, 101]}})", 100, "h");
  EXPECT_EQ(beyond.status().code(), ErrorCode::kFormatError);
}

TEST(SafetensorsErrors, MissingFileAndDirectory) {
  TempDir dir;
  Result<std::unique_ptr<SafetensorsArchive>> f = SafetensorsArchive::open_file(dir.file("nope"));
  EXPECT_EQ(f.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(f.status().message().find(dir.file("nope")), std::string::npos);
  Result<std::unique_ptr<SafetensorsArchive>> d = SafetensorsArchive::open_dir(dir.path());
  EXPECT_EQ(d.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(d.status().message().find(dir.path()), std::string::npos);
  EXPECT_NE(d.status().message().find("model.safetensors.index.json"), std::string::npos);
  // A directory where the file should be.
  std::filesystem::create_directories(dir.file("model.safetensors"));
  Result<std::unique_ptr<SafetensorsArchive>> isdir = SafetensorsArchive::open_dir(dir.path());
  EXPECT_EQ(isdir.status().code(), ErrorCode::kIoError) << isdir.status().to_string();
}

// ---------------------------------------------------------------------------------------------
// Sharded checkpoints.

const float kData[6] = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -0.5f};

void write_shard(const TempDir& dir, const std::string& name,
                 const std::vector<std::string>& tensors) {
  std::vector<TensorToWrite> w;
  for (const std::string& t : tensors) w.push_back({t, DType::kF32, {2, 3}, kData});
  ASSERT_TRUE(write_safetensors(dir.file(name), w).is_ok());
}

void write_index(const TempDir& dir, const std::string& text) {
  std::ofstream(dir.file("model.safetensors.index.json")) << text;
}

Status open_status(const TempDir& dir) {
  return SafetensorsArchive::open_dir(dir.path()).status();
}

TEST(SafetensorsShardErrors, MissingShardFile) {
  TempDir dir;
  write_shard(dir, "s1.safetensors", {"a"});
  write_index(dir, R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
  const Status s = open_status(dir);
  EXPECT_EQ(s.code(), ErrorCode::kNotFound) << s.to_string();
  EXPECT_NE(s.message().find(dir.file("s2.safetensors")), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("model.safetensors.index.json"), std::string::npos);
}

TEST(SafetensorsShardErrors, TensorMissingFromItsShard) {
  TempDir dir;
  write_shard(dir, "s1.safetensors", {"a"});
  write_shard(dir, "s2.safetensors", {"b", "c"});
  write_index(dir, R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors",
                                       "c": "s1.safetensors"}})");
  const Status s = open_status(dir);
  EXPECT_EQ(s.code(), ErrorCode::kFormatError) << s.to_string();
  EXPECT_NE(s.message().find("tensor 'c' is listed in shard s1.safetensors"), std::string::npos)
      << s.to_string();
}

TEST(SafetensorsShardErrors, DuplicateTensorAcrossShards) {
  TempDir dir;
  write_shard(dir, "s1.safetensors", {"a", "dup"});
  write_shard(dir, "s2.safetensors", {"b", "dup"});
  write_index(dir, R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors",
                                       "dup": "s2.safetensors"}})");
  const Status s = open_status(dir);
  EXPECT_EQ(s.code(), ErrorCode::kFormatError) << s.to_string();
  EXPECT_NE(s.message().find("tensor 'dup' appears in both"), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("s1.safetensors"), std::string::npos);
  EXPECT_NE(s.message().find("s2.safetensors"), std::string::npos);
}

TEST(SafetensorsShardErrors, CorruptShardNamesShardAndIndex) {
  TempDir dir;
  write_shard(dir, "s1.safetensors", {"a"});
  write_file(dir.file("s2.safetensors"), le64(4096) + "{}");
  write_index(dir, R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
  const Status s = open_status(dir);
  EXPECT_EQ(s.code(), ErrorCode::kFormatError) << s.to_string();
  EXPECT_NE(s.message().find("file " + dir.file("s2.safetensors")), std::string::npos);
  EXPECT_NE(s.message().find("shard listed in"), std::string::npos);
}

TEST(SafetensorsShardErrors, MalformedIndex) {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"{not json", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"metadata": {}})", "missing 'weight_map'"},
      {R"({"weight_map": []})", "'weight_map' must be an object"},
      {R"({"weight_map": {}})", "'weight_map' is empty"},
      {R"({"weight_map": {"a": 3}})", "tensor 'a': shard must be a file name"},
      {R"({"weight_map": {"a": "../s1.safetensors"}})", "tensor 'a': shard must be a file name"},
      {R"({"weight_map": {"a": "/etc/passwd"}})", "tensor 'a': shard must be a file name"},
      {R"({"weight_map": {"a": ".."}})", "tensor 'a': shard must be a file name"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    write_shard(dir, "s1.safetensors", {"a"});
    write_index(dir, c.text);
    const Status s = open_status(dir);
    EXPECT_EQ(s.code(), ErrorCode::kFormatError) << c.text << " -> " << s.to_string();
    EXPECT_NE(s.message().find(c.needle), std::string::npos) << c.text << " -> " << s.to_string();
    EXPECT_NE(s.message().find(dir.file("model.safetensors.index.json")), std::string::npos);
  }
}

}  // namespace
}  // namespace xy
