// Safetensors reading and writing: the reference fixtures, and write -> read round trips of
// random tensors in every dtype, single-file and sharded.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/safetensors.h"

namespace xy {
namespace {

const std::string kFixtures = std::string(XY_TESTDATA_DIR) + "/reference-logits/";

// Every tensor the Llama-family forward pass needs, with the shape the config implies.
std::map<std::string, std::vector<int64_t>> expected_shapes(const ModelConfig& c) {
  std::map<std::string, std::vector<int64_t>> m;
  m["model.embed_tokens.weight"] = {c.vocab_size, c.hidden_size};
  m["model.norm.weight"] = {c.hidden_size};
  if (!c.tie_word_embeddings) m["lm_head.weight"] = {c.vocab_size, c.hidden_size};
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    m[p + "input_layernorm.weight"] = {c.hidden_size};
    m[p + "post_attention_layernorm.weight"] = {c.hidden_size};
    m[p + "self_attn.q_proj.weight"] = {c.q_size(), c.hidden_size};
    m[p + "self_attn.k_proj.weight"] = {c.kv_size(), c.hidden_size};
    m[p + "self_attn.v_proj.weight"] = {c.kv_size(), c.hidden_size};
    m[p + "self_attn.o_proj.weight"] = {c.hidden_size, c.q_size()};
    if (c.attention_bias) {
      m[p + "self_attn.q_proj.bias"] = {c.q_size()};
      m[p + "self_attn.k_proj.bias"] = {c.kv_size()};
      m[p + "self_attn.v_proj.bias"] = {c.kv_size()};
    }
    if (c.o_proj_bias) m[p + "self_attn.o_proj.bias"] = {c.hidden_size};
    if (c.qk_norm) {
      m[p + "self_attn.q_norm.weight"] = {c.head_dim};
      m[p + "self_attn.k_norm.weight"] = {c.head_dim};
    }
    m[p + "mlp.gate_proj.weight"] = {c.intermediate_size, c.hidden_size};
    m[p + "mlp.up_proj.weight"] = {c.intermediate_size, c.hidden_size};
    m[p + "mlp.down_proj.weight"] = {c.hidden_size, c.intermediate_size};
  }
  return m;
}

class FixtureTest : public ::testing::TestWithParam<const char*> {};

// The archive holds exactly the tensors the config implies, as float32, inside the file, and
// the norm weights look like 1 + 0.1 * N(0, 1) as the README says they were drawn.
TEST_P(FixtureTest, TensorsMatchConfig) {
  const std::string dir = kFixtures + GetParam();
  Result<ModelConfig> config = load_model_config(dir);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  Result<std::unique_ptr<SafetensorsArchive>> archive = SafetensorsArchive::open_dir(dir);
  ASSERT_TRUE(archive.is_ok()) << archive.status().to_string();
  const auto expected = expected_shapes(*config);
  const auto& tensors = (*archive)->tensors();
  ASSERT_EQ(tensors.size(), expected.size());
  for (const auto& [name, shape] : expected) {
    const TensorInfo* t = (*archive)->find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->name, name);
    EXPECT_EQ(t->shape, shape) << name;
    EXPECT_EQ(t->dtype, DType::kF32) << name;
    EXPECT_EQ(t->num_bytes, static_cast<size_t>(t->numel()) * 4) << name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 4, 0u) << name;
    EXPECT_EQ(t->file, dir + "/model.safetensors");
  }
  const TensorInfo* norm = (*archive)->find("model.norm.weight");
  const float* w = static_cast<const float*>(norm->data);
  double mean = 0;
  for (int64_t i = 0; i < norm->numel(); ++i) mean += w[i];
  mean /= static_cast<double>(norm->numel());
  EXPECT_NEAR(mean, 1.0, 0.05);
  EXPECT_EQ((*archive)->find("no.such.tensor"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(AllFive, FixtureTest,
                         ::testing::Values("llama_gqa", "llama3_scaled", "qwen2_bias",
                                           "qwen3_qknorm", "mistral"));

// ---------------------------------------------------------------------------------------------
// write_safetensors -> SafetensorsArchive round trips.

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("xy_io_") + info->test_suite_name() + "_" + info->name() + "_" +
                       std::to_string(::getpid());
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

// A tensor with random contents: every bit pattern, NaNs included, must survive unchanged.
struct RandomTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // [numel * dtype_size]

  TensorToWrite to_write() const {
    return TensorToWrite{name, dtype, shape, bytes.empty() ? nullptr : bytes.data()};
  }
};

RandomTensor random_tensor(std::mt19937_64& rng, const std::string& name) {
  static constexpr DType kTypes[] = {DType::kF32, DType::kF16, DType::kBF16};
  RandomTensor t;
  t.name = name;
  t.dtype = kTypes[rng() % 3];
  const int rank = static_cast<int>(rng() % 4);  // 0 (a scalar) .. 3
  for (int i = 0; i < rank; ++i) {
    // Mostly awkward small sizes, sometimes an empty dimension.
    t.shape.push_back(rng() % 10 == 0 ? 0 : static_cast<int64_t>(1 + rng() % 37));
  }
  int64_t numel = 1;
  for (int64_t d : t.shape) numel *= d;
  t.bytes.resize(static_cast<size_t>(numel) * dtype_size(t.dtype));
  for (uint8_t& b : t.bytes) b = static_cast<uint8_t>(rng());
  return t;
}

std::vector<RandomTensor> random_tensors(std::mt19937_64& rng, int count) {
  std::vector<RandomTensor> out;
  for (int i = 0; i < count; ++i) {
    // Names in random order, with dots and digits like real checkpoints.
    out.push_back(random_tensor(
        rng, "model.layers." + std::to_string(rng() % 1000) + ".w" + std::to_string(i)));
  }
  return out;
}

void expect_same(const SafetensorsArchive& archive, const std::vector<RandomTensor>& tensors) {
  ASSERT_EQ(archive.tensors().size(), tensors.size());
  for (const RandomTensor& t : tensors) {
    const TensorInfo* info = archive.find(t.name);
    ASSERT_NE(info, nullptr) << t.name;
    EXPECT_EQ(info->dtype, t.dtype) << t.name;
    EXPECT_EQ(info->shape, t.shape) << t.name;
    ASSERT_EQ(info->num_bytes, t.bytes.size()) << t.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(info->data) % dtype_size(t.dtype), 0u) << t.name;
    if (!t.bytes.empty()) {
      EXPECT_EQ(std::memcmp(info->data, t.bytes.data(), t.bytes.size()), 0) << t.name;
    }
  }
}

uint64_t read_le64(const std::vector<uint8_t>& b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[static_cast<size_t>(i)];
  return v;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

TEST(SafetensorsRoundTrip, RandomTensorsAllDtypes) {
  std::mt19937_64 rng(20261123);
  for (int trial = 0; trial < 20; ++trial) {
    TempDir dir;
    const std::vector<RandomTensor> tensors = random_tensors(rng, 1 + static_cast<int>(rng() % 12));
    std::vector<TensorToWrite> to_write;
    for (const RandomTensor& t : tensors) to_write.push_back(t.to_write());
    const std::string path = dir.file("model.safetensors");
    ASSERT_TRUE(write_safetensors(path, to_write).is_ok());

    Result<std::unique_ptr<SafetensorsArchive>> archive = SafetensorsArchive::open_dir(dir.path());
    ASSERT_TRUE(archive.is_ok()) << archive.status().to_string();
    expect_same(**archive, tensors);
  }
}

// The layout itself, checked by hand rather than by our reader: 8-byte little-endian length,
// header padded with spaces to a multiple of 8, "__metadata__" {"format": "pt"}, header keys
// sorted by name, data contiguous with the widest dtypes first (then by name) so every tensor
// is aligned to its element size.
TEST(SafetensorsRoundTrip, WriterLayoutFollowsSpec) {
  std::mt19937_64 rng(7);
  TempDir dir;
  const std::vector<RandomTensor> tensors = random_tensors(rng, 9);
  std::vector<TensorToWrite> to_write;
  for (const RandomTensor& t : tensors) to_write.push_back(t.to_write());
  const std::string path = dir.file("x.safetensors");
  ASSERT_TRUE(write_safetensors(path, to_write).is_ok());

  const std::vector<uint8_t> file = read_bytes(path);
  ASSERT_GE(file.size(), 8u);
  const uint64_t n = read_le64(file);
  ASSERT_LE(8 + n, file.size());
  EXPECT_EQ((8 + n) % 8, 0u);
  const std::string header(file.begin() + 8, file.begin() + 8 + static_cast<int64_t>(n));
  EXPECT_EQ(header.front(), '{');
  const size_t last = header.find_last_not_of(' ');
  EXPECT_EQ(header[last], '}');
  EXPECT_LT(header.size() - 1 - last, 8u);  // at most 7 spaces of padding

  const nlohmann::json j = nlohmann::json::parse(header);
  EXPECT_EQ(j["__metadata__"], (nlohmann::json{{"format", "pt"}}));
  EXPECT_LT(header.find("__metadata__"), header.find("model.layers"));
  std::vector<const RandomTensor*> by_name;
  for (const RandomTensor& t : tensors) by_name.push_back(&t);
  std::sort(by_name.begin(), by_name.end(), [](auto* a, auto* b) { return a->name < b->name; });
  size_t pos = 0;
  for (const RandomTensor* t : by_name) {
    const size_t at = header.find("\"" + t->name + "\"");
    ASSERT_NE(at, std::string::npos);
    EXPECT_GT(at, pos) << "header not sorted by name: " << t->name;
    pos = at;
  }
  std::vector<const RandomTensor*> data_order = by_name;
  std::stable_sort(data_order.begin(), data_order.end(),
                   [](auto* a, auto* b) { return dtype_size(a->dtype) > dtype_size(b->dtype); });
  uint64_t offset = 0;
  for (const RandomTensor* t : data_order) {
    const nlohmann::json& e = j[t->name];
    EXPECT_EQ(e["data_offsets"][0].get<uint64_t>(), offset) << t->name;
    EXPECT_EQ(e["data_offsets"][1].get<uint64_t>(), offset + t->bytes.size()) << t->name;
    EXPECT_EQ(e["shape"].get<std::vector<int64_t>>(), t->shape);
    const char* tag = t->dtype == DType::kF32 ? "F32" : t->dtype == DType::kF16 ? "F16" : "BF16";
    EXPECT_EQ(e["dtype"], tag);
    if (!t->bytes.empty()) {
      EXPECT_EQ((8 + n + offset) % dtype_size(t->dtype), 0u) << t->name;
      EXPECT_EQ(std::memcmp(file.data() + 8 + n + offset, t->bytes.data(), t->bytes.size()), 0);
    }
    offset += t->bytes.size();
  }
  EXPECT_EQ(file.size(), 8 + n + offset);
}

// Rewriting a fixture through write_safetensors gives back the fixture's bytes exactly: the
// Python-spec layout the fixtures were written with is ours too.
TEST(SafetensorsRoundTrip, RewritingAFixtureIsByteIdentical) {
  const std::string src = kFixtures + "llama_gqa/model.safetensors";
  Result<std::unique_ptr<SafetensorsArchive>> archive = SafetensorsArchive::open_file(src);
  ASSERT_TRUE(archive.is_ok()) << archive.status().to_string();
  std::vector<TensorToWrite> to_write;
  for (const auto& [name, t] : (*archive)->tensors()) {
    to_write.push_back(TensorToWrite{name, t.dtype, t.shape, t.data});
  }
  TempDir dir;
  ASSERT_TRUE(write_safetensors(dir.file("copy.safetensors"), to_write).is_ok());
  const std::vector<uint8_t> a = read_bytes(src);
  const std::vector<uint8_t> b = read_bytes(dir.file("copy.safetensors"));
  // Headers may differ in key order and spacing; the data sections must match byte for byte.
  ASSERT_EQ(a.size() - read_le64(a), b.size() - read_le64(b));
  EXPECT_TRUE(std::equal(a.begin() + 8 + static_cast<int64_t>(read_le64(a)), a.end(),
                         b.begin() + 8 + static_cast<int64_t>(read_le64(b))));
}

TEST(SafetensorsRoundTrip, EmptyArchive) {
  TempDir dir;
  ASSERT_TRUE(write_safetensors(dir.file("model.safetensors"), {}).is_ok());
  Result<std::unique_ptr<SafetensorsArchive>> archive = SafetensorsArchive::open_dir(dir.path());
  ASSERT_TRUE(archive.is_ok()) << archive.status().to_string();
  EXPECT_TRUE((*archive)->tensors().empty());
}

TEST(SafetensorsWriter, RejectsBadInput) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const float data[4] = {1, 2, 3, 4};
  struct Case {
    std::vector<TensorToWrite> tensors;
    const char* needle;
  };
  const Case cases[] = {
      {{{"a", DType::kF32, {4}, data}, {"a", DType::kF32, {4}, data}}, "'a' given twice"},
      {{{"neg", DType::kF32, {-1, 4}, data}}, "'neg' has a negative dimension"},
      {{{"null", DType::kF32, {4}, nullptr}}, "'null' has no data"},
      {{{"", DType::kF32, {4}, data}}, "invalid tensor name"},
      {{{"__metadata__", DType::kF32, {4}, data}}, "invalid tensor name"},
      {{{"huge", DType::kF32, {int64_t{1} << 40, int64_t{1} << 40}, data}}, "'huge' is too large"},
      {{{"bad\xff utf8", DType::kF32, {4}, data}}, path.c_str()},
  };
  for (const Case& c : cases) {
    const Status s = write_safetensors(path, c.tensors);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.to_string();
    EXPECT_NE(s.message().find(c.needle), std::string::npos) << s.to_string();
    EXPECT_NE(s.message().find(path), std::string::npos) << s.to_string();
    EXPECT_FALSE(std::filesystem::exists(path));
  }
  const Status s =
      write_safetensors(dir.file("no/such/dir/x.safetensors"), {{"a", DType::kF32, {4}, data}});
  EXPECT_EQ(s.code(), ErrorCode::kIoError) << s.to_string();
  EXPECT_NE(s.message().find("no/such/dir/x.safetensors"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Sharded checkpoints: model.safetensors.index.json + shards.

// Writes `tensors` split into `num_shards` files named like transformers does and an index;
// returns the shard each tensor went to.
std::map<std::string, std::string> write_sharded(const TempDir& dir,
                                                 const std::vector<RandomTensor>& tensors,
                                                 int num_shards, std::mt19937_64& rng) {
  std::vector<std::vector<TensorToWrite>> shards(static_cast<size_t>(num_shards));
  std::map<std::string, std::string> where;
  nlohmann::json weight_map = nlohmann::json::object();
  for (const RandomTensor& t : tensors) {
    const int s = static_cast<int>(rng() % static_cast<uint64_t>(num_shards));
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05d-of-%05d.safetensors", s + 1, num_shards);
    shards[static_cast<size_t>(s)].push_back(t.to_write());
    where[t.name] = name;
    weight_map[t.name] = name;
  }
  for (int s = 0; s < num_shards; ++s) {
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05d-of-%05d.safetensors", s + 1, num_shards);
    EXPECT_TRUE(write_safetensors(dir.file(name), shards[static_cast<size_t>(s)]).is_ok());
  }
  const nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}};
  std::ofstream(dir.file("model.safetensors.index.json")) << index.dump(2);
  return where;
}

TEST(SafetensorsSharded, RoundTripThreeShards) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 10; ++trial) {
    TempDir dir;
    const std::vector<RandomTensor> tensors = random_tensors(rng, 5 + static_cast<int>(rng() % 20));
    const auto where = write_sharded(dir, tensors, 3, rng);
    Result<std::unique_ptr<SafetensorsArchive>> archive = SafetensorsArchive::open_dir(dir.path());
    ASSERT_TRUE(archive.is_ok()) << archive.status().to_string();
    expect_same(**archive, tensors);
    for (const auto& [name, shard] : where) {
      EXPECT_EQ((*archive)->find(name)->file, dir.file(shard));
    }
  }
}

// The index wins over a stray model.safetensors next to it.
TEST(SafetensorsSharded, IndexTakesPrecedence) {
  std::mt19937_64 rng(5);
  TempDir dir;
  const std::vector<RandomTensor> tensors = random_tensors(rng, 6);
  write_sharded(dir, tensors, 2, rng);
  ASSERT_TRUE(write_safetensors(dir.file("model.safetensors"), {}).is_ok());
  Result<std::unique_ptr<SafetensorsArchive>> archive = SafetensorsArchive::open_dir(dir.path());
  ASSERT_TRUE(archive.is_ok()) << archive.status().to_string();
  expect_same(**archive, tensors);
}

}  // namespace
}  // namespace xy
