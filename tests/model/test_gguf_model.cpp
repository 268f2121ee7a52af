// GGUF models end to end: a random Hugging Face checkpoint written as GGUF by the converter
// (llama.cpp's names, key set and q/k row order) loads back as the same model: F32 files give
// bit-identical logits to the safetensors checkpoint for llama (whose q/k rows the converter
// permutes), qwen2 (biases) and qwen3 (q/k norms); Q8_0 within the 2e-2 rel. L2; the
// tokenizer read from GGUF metadata gives the same ids as tokenizer.json; and files xyserve
// cannot run are refused by name.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

#include "common/rel_l2.h"
#include "core/mapped_file.h"
#include "kernels/cpu/meta_attention.h"
#include "kernels/reference/quant_blocks.h"
#include "model/gguf/gguf_convert.h"
#include "model/gguf/gguf_model.h"
#include "model/gguf/gguf_tokenizer.h"
#include "model/gguf/gguf_writer.h"
#include "model/model.h"
#include "model/model_presets.h"
#include "model/random_checkpoint.h"
#include "single_sequence_logits.h"
#include "tokenizer/tokenizer.h"

namespace xy {
namespace {

using testing_common::rel_l2;

class TempDir {
 public:
  TempDir() {
    path_ = (std::filesystem::temp_directory_path() /
             ("xy-gguf-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++)))
                .string();
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

ModelConfig tiny_config(Architecture arch) {
  ModelConfig c = find_model_preset("tiny")->config;
  c.arch = arch;
  if (arch == Architecture::kQwen2) {
    c.architecture_name = "Qwen2ForCausalLM";
    c.attention_bias = true;
  } else if (arch == Architecture::kQwen3) {
    c.architecture_name = "Qwen3ForCausalLM";
    c.qk_norm = true;
    c.tie_word_embeddings = true;
  }
  return c;
}

const std::vector<int32_t> kTokens = {1,  17,  300, 5,  999, 42, 7,   7,  512, 3,
                                      64, 128, 0,   33, 900, 2,  250, 11, 6,   400};

struct Converted {
  TempDir dir;
  std::string hf, gguf;
};

// A random checkpoint of `config` (c.hf) and its GGUF file of `type` (c.gguf).
void convert(Converted& c, const ModelConfig& config, gguf::OutType type, DType stored,
             uint64_t seed = 3) {
  c.hf = c.dir.path() + "/hf";
  c.gguf = c.dir.path() + "/model.gguf";
  RandomCheckpointOptions o;
  o.dtype = stored;
  o.seed = seed;
  ASSERT_TRUE(write_random_checkpoint(config, c.hf, o).is_ok());
  Status st = gguf::convert_checkpoint_to_gguf(c.hf, c.gguf, type);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
}

void convert(Converted& c, Architecture arch, gguf::OutType type, DType stored) {
  convert(c, tiny_config(arch), type, stored);
}

std::vector<float> logits_of(const std::string& path, LoadOptions o, DType kv = DType::kF32) {
  Result<std::unique_ptr<Model>> m = Model::load(path, o);
  EXPECT_TRUE(m.is_ok()) << m.status().to_string();
  if (!m.is_ok()) return {};
  return testing_model::single_sequence_logits(**m, kTokens, kv);
}

class GgufModelF32 : public ::testing::TestWithParam<Architecture> {};

TEST_P(GgufModelF32, LogitsAreBitIdenticalToTheSafetensorsCheckpoint) {
  Converted c;
  convert(c, GetParam(), gguf::OutType::kF32, DType::kF32);
  for (KernelSet kernels : {KernelSet::kReference, KernelSet::kCpu}) {
    LoadOptions o;
    o.kernels = kernels;
    o.threads = 1;
    const std::vector<float> want = logits_of(c.hf, o);
    const std::vector<float> got = logits_of(c.gguf, o);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(got, want) << "rel L2 " << rel_l2(got, want);
  }
  // The config read from GGUF metadata is the checkpoint's.
  Result<std::unique_ptr<Model>> a = Model::load(c.hf), b = Model::load(c.gguf);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  const ModelConfig &x = (*a)->config(), &y = (*b)->config();
  EXPECT_EQ(x.arch, y.arch);
  EXPECT_EQ(x.vocab_size, y.vocab_size);
  EXPECT_EQ(x.num_key_value_heads, y.num_key_value_heads);
  EXPECT_EQ(x.head_dim, y.head_dim);
  EXPECT_EQ(x.tie_word_embeddings, y.tie_word_embeddings);
  EXPECT_EQ(x.attention_bias, y.attention_bias);
  EXPECT_EQ(x.qk_norm, y.qk_norm);
  EXPECT_EQ(x.rope_theta, y.rope_theta);
  EXPECT_EQ(x.rms_norm_eps, y.rms_norm_eps);
}

INSTANTIATE_TEST_SUITE_P(Architectures, GgufModelF32,
                         ::testing::Values(Architecture::kLlama, Architecture::kQwen2,
                                           Architecture::kQwen3));

TEST(GgufModel, Q8_0LogitsStayWithin2e2OfTheF32Model) {
  Converted c;
  convert(c, Architecture::kLlama, gguf::OutType::kQ8_0, DType::kF32);
  LoadOptions f32;
  f32.weight_dtype = DType::kF32;  // dequantize exactly: the error is the format's alone
  f32.threads = 1;
  const double err = rel_l2(logits_of(c.gguf, f32), logits_of(c.hf, f32));
  EXPECT_LT(err, 2e-2);
  EXPECT_GT(err, 0.0);  // it really was quantized
  // The default load keeps dequantized matrices in bf16.
  LoadOptions def;
  def.threads = 1;
  EXPECT_LT(rel_l2(logits_of(c.gguf, def), logits_of(c.hf, f32)), 3e-2);
}

TEST(GgufModel, Q4_0FilesLoadAndStayCloseToTheF32Model) {
  Converted c;
  convert(c, Architecture::kQwen2, gguf::OutType::kQ4_0, DType::kBF16);
  LoadOptions o;
  o.threads = 1;
  // Random weights are the worst case for 4 bits (no outliers to spare the scale): a loose bound
  // that still catches a wrong nibble order or scale (those give errors near 1).
  EXPECT_LT(rel_l2(logits_of(c.gguf, o), logits_of(c.hf, o)), 0.35);
}

// llama-3.1+ rope scaling travels as GGUF's rope_freqs tensor (per-frequency divisors): the
// converter writes it, the reader applies it; inv_freq / divisor vs transformers' blend differs
// only in f32 rounding.
TEST(GgufModel, Llama3RopeScalingRoundTripsThroughRopeFreqs) {
  Converted c;
  ModelConfig config = tiny_config(Architecture::kLlama);
  config.rope_theta = 500000.0f;
  config.rope_scaling.type = RopeScaling::Type::kLlama3;
  config.rope_scaling.factor = 32.0f;
  config.rope_scaling.low_freq_factor = 1.0f;
  config.rope_scaling.high_freq_factor = 4.0f;
  config.rope_scaling.original_max_position_embeddings = 64;  // puts all three bands in reach
  convert(c, config, gguf::OutType::kF32, DType::kF32, /*seed=*/5);
  LoadOptions f32;
  f32.threads = 1;
  Result<std::unique_ptr<Model>> m = Model::load(c.gguf, f32);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  const std::vector<float>& factors = (*m)->config().rope_freq_factors;
  ASSERT_EQ(factors.size(), size_t(config.head_dim / 2));
  EXPECT_EQ(factors.front(), 1.0f);  // highest frequency: unscaled
  EXPECT_EQ(factors.back(), 32.0f);  // lowest: fully scaled
  const std::vector<float> got = logits_of(c.gguf, f32), want = logits_of(c.hf, f32);
  EXPECT_LT(rel_l2(got, want), 1e-5);
}

// `xyserve quantize --type q4_k_m`: llama.cpp's mix (Q4_K, with Q6_K for attn_v / ffn_down in
// the first and last eighth of the layers and every third between, and for the output), read
// back by the reader, and the model runs quantized close to its f32 self.
TEST(GgufModel, Q4_K_MFilesMixQ4_KAndQ6_KAsLlamaCppDoes) {
  Converted c;
  ModelConfig config = find_model_preset("tiny-kquant")->config;
  config.num_hidden_layers = 8;
  convert(c, config, gguf::OutType::kQ4_K_M, DType::kF32, /*seed=*/9);
  Result<gguf::GgufModel> g = gguf::open_gguf_model(c.gguf, DType::kF32);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  auto type_of = [&](const std::string& name) {
    const gguf::TensorInfo* t = g->file.find_tensor(name);
    return t ? std::string(ref::block_format_info(t->ggml_type)->name) : std::string("missing");
  };
  // 8 layers: more bits for i < 1, i >= 7, and (i - 1) % 3 == 2, i.e. layers 0, 3, 6, 7.
  for (int i = 0; i < 8; ++i) {
    const std::string want = (i == 0 || i == 3 || i == 6 || i == 7) ? "Q6_K" : "Q4_K";
    EXPECT_EQ(type_of("blk." + std::to_string(i) + ".attn_v.weight"), want) << i;
    EXPECT_EQ(type_of("blk." + std::to_string(i) + ".ffn_down.weight"), want) << i;
    EXPECT_EQ(type_of("blk." + std::to_string(i) + ".attn_q.weight"), "Q4_K") << i;
    EXPECT_EQ(type_of("blk." + std::to_string(i) + ".ffn_gate.weight"), "Q4_K") << i;
  }
  EXPECT_EQ(type_of("output.weight"), "Q6_K");
  EXPECT_EQ(type_of("token_embd.weight"), "Q4_K");
  EXPECT_EQ(type_of("blk.0.attn_norm.weight"), "F32");
  EXPECT_EQ(gguf::dominant_tensor_type(g->file), "Q4_K");
  LoadOptions f32;
  f32.weight_dtype = DType::kF32;
  f32.threads = 1;
  LoadOptions quantized = f32;
  quantized.weight_dtype = std::nullopt;
  const std::vector<float> hf = logits_of(c.hf, f32);
  EXPECT_LT(rel_l2(logits_of(c.gguf, f32), hf), 0.35);
  EXPECT_LT(rel_l2(logits_of(c.gguf, quantized), logits_of(c.gguf, f32)), 2e-2);
}

// With the CPU kernels and no weight dtype asked for (the CLI's --dtype auto), quantized matrices
// run as stored, on QuantGEMM: the logits stay within the bound of the f32 model, and
// the only difference from the same file dequantized to f32 is the activations' 8-bit rounding.
TEST(GgufModel, QuantizedMatricesRunOnQuantGemmWithinBoundsOfTheF32Model) {
  struct Case {
    Architecture arch;
    gguf::OutType type;
    double vs_hf, vs_dequantized;
  };
  // qwen3 ties its embedding: lm_head is packed quantized and the embedding gathered from blocks.
  for (const Case& k : {Case{Architecture::kLlama, gguf::OutType::kQ8_0, 2e-2, 2e-2},
                        Case{Architecture::kQwen3, gguf::OutType::kQ8_0, 2e-2, 2e-2},
                        Case{Architecture::kQwen2, gguf::OutType::kQ4_0, 0.35, 2e-2}}) {
    Converted c;
    convert(c, k.arch, k.type, DType::kF32);
    LoadOptions f32;
    f32.weight_dtype = DType::kF32;
    f32.threads = 1;
    LoadOptions quantized = f32;
    quantized.weight_dtype = std::nullopt;
    const std::vector<float> q = logits_of(c.gguf, quantized);
    const std::vector<float> dequantized = logits_of(c.gguf, f32);
    const double err_dq = rel_l2(q, dequantized);
    EXPECT_LT(rel_l2(q, logits_of(c.hf, f32)), k.vs_hf) << int(k.arch);
    EXPECT_LT(err_dq, k.vs_dequantized) << int(k.arch);
    EXPECT_GT(err_dq, 0.0) << "the quantized kernels did not run";
    // Two threads give the same bits (batch/worker invariance of QuantGEMM).
    LoadOptions two = quantized;
    two.threads = 2;
    EXPECT_EQ(logits_of(c.gguf, two), q);
    // As serve runs it (--compute-dtype auto, --kv-dtype auto = bf16): the same int8 products,
    // attention in bf16 where the CPU has AVX-512 BF16. Against the dequantized f32 model it
    // stays within the bound, and no further from it than exact attention on the same KV
    // (0.0129 vs 0.0124, 0.0141 vs 0.0141, 0.0133 vs 0.0130 when written). Against exact
    // attention itself the distance is not bf16-sized (~0.013): a different rounding of one
    // activation moves the next int8 rounding, so two quantized runs differ by the quantization
    // noise. (The bf16 KV cache alone moves qwen3's logits from 0.019 to 0.020 of the f32
    // checkpoint's, with exact attention or not: the bound against it is for the f32 KV above.)
    LoadOptions user = quantized;
    user.compute_dtype = ComputeDtype::kAuto;
    const std::vector<float> q_auto = logits_of(c.gguf, user, DType::kBF16);
    const std::vector<float> exact_attention = logits_of(c.gguf, quantized, DType::kBF16);
    EXPECT_LT(rel_l2(q_auto, dequantized), k.vs_dequantized) << int(k.arch);
    EXPECT_LT(rel_l2(q_auto, dequantized), 1.25 * rel_l2(exact_attention, dequantized))
        << int(k.arch);
    if (cpu::attention_isa_supported(cpu::AttentionIsa::kAvx512Bf16)) {
      EXPECT_NE(q_auto, exact_attention) << "bf16 attention did not run";
    }
    user.threads = 2;
    EXPECT_EQ(logits_of(c.gguf, user, DType::kBF16), q_auto);
  }
}

TEST(GgufModel, TheTokenizerFromGgufMetadataEncodesAsTokenizerJson) {
  Converted c;
  convert(c, Architecture::kLlama, gguf::OutType::kF16, DType::kBF16);
  Result<std::unique_ptr<Tokenizer>> hf = Tokenizer::load_dir(c.hf);
  ASSERT_TRUE(hf.is_ok()) << hf.status().to_string();
  Result<gguf::GgufModel> g = gguf::open_gguf_model(c.gguf, DType::kBF16);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  Result<gguf::TokenizerFiles> files = gguf::tokenizer_files_from_gguf(g->file, c.gguf);
  ASSERT_TRUE(files.is_ok()) << files.status().to_string();
  Result<std::unique_ptr<Tokenizer>> tok =
      Tokenizer::load_json(files->tokenizer_json, files->tokenizer_config_json, c.gguf);
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  for (const char* text :
       {"Hello world!", "  leading spaces and\ttabs\n\nnew lines", "numbers 12345 and 3.14159",
        "don't won't it's", "ünïcödé — 漢字 and emoji 🙂",
        "<|im_start|>user\nhi<|im_end|>"}) {
    for (bool special : {true, false}) {
      Result<std::vector<int32_t>> a = (*hf)->encode(text, special);
      Result<std::vector<int32_t>> b = (*tok)->encode(text, special);
      ASSERT_TRUE(a.is_ok() && b.is_ok());
      EXPECT_EQ(*a, *b) << text;
      EXPECT_EQ((*tok)->decode(*b), (*hf)->decode(*a)) << text;
    }
  }
  EXPECT_EQ((*tok)->chat_template(), (*hf)->chat_template());
  EXPECT_EQ((*tok)->eos_id(), (*hf)->eos_id());
}

TEST(GgufModel, UnsupportedContentIsRefusedByName) {
  const auto load_error = [](gguf::Writer& w) {
    TempDir d;
    std::filesystem::create_directories(d.path());
    const std::string path = d.path() + "/m.gguf";
    EXPECT_TRUE(w.write(path).is_ok());
    Result<std::unique_ptr<Model>> m = Model::load(path);
    EXPECT_FALSE(m.is_ok());
    return m.status();
  };
  gguf::Writer phi;
  phi.add_string("general.architecture", "phi3");
  Status st = load_error(phi);
  EXPECT_EQ(st.code(), ErrorCode::kUnsupported);
  EXPECT_NE(st.message().find("'phi3'"), std::string::npos) << st.to_string();

  // A Q8_1 matrix (a block format llama.cpp uses only for activations): the file parses, the
  // model refuses that tensor by name and type.
  Converted c;
  convert(c, Architecture::kLlama, gguf::OutType::kF32, DType::kF32);
  Result<gguf::GgufModel> g = gguf::open_gguf_model(c.gguf, DType::kF32);
  ASSERT_TRUE(g.is_ok());
  gguf::Writer w;
  for (const auto& [key, v] : g->file.metadata) {
    if (v.type == gguf::ValueType::kString) w.add_string(key, v.s);
    if (v.type == gguf::ValueType::kUint32) w.add_uint32(key, uint32_t(v.i));
    if (v.type == gguf::ValueType::kFloat32) w.add_float32(key, float(v.f));
  }
  for (const gguf::TensorInfo& t : g->file.tensors) {
    if (t.name == "blk.1.ffn_up.weight") {
      const int64_t blocks = t.num_elements() / 32;
      w.add_tensor(t.name, t.dims, 9 /* Q8_1 */, std::vector<uint8_t>(size_t(blocks) * 36));
    } else {
      w.add_tensor(t.name, t.dims, t.ggml_type, std::vector<uint8_t>(t.data, t.data + t.size));
    }
  }
  st = load_error(w);
  EXPECT_EQ(st.code(), ErrorCode::kUnsupported) << st.to_string();
  EXPECT_NE(st.message().find("'blk.1.ffn_up.weight' has type Q8_1"), std::string::npos)
      << st.to_string();
}

TEST(GgufModel, TokenizerMetadataOutsideTheSupportedSetIsRefusedByName) {
  const auto convert_error = [](gguf::Writer& w) {
    const std::vector<uint8_t> bytes = w.bytes();
    Result<gguf::File> f = gguf::parse_file(bytes.data(), bytes.size(), "t.gguf");
    EXPECT_TRUE(f.is_ok());
    return gguf::tokenizer_files_from_gguf(*f, "t.gguf").status();
  };
  gguf::Writer wpm;  // BERT's WordPiece: not a generative vocabulary xyserve serves
  wpm.add_string("tokenizer.ggml.model", "bert");
  EXPECT_NE(convert_error(wpm).message().find("tokenizer model 'bert'"), std::string::npos);
  gguf::Writer spm_scores;  // SentencePiece scores must be one per token
  spm_scores.add_string("tokenizer.ggml.model", "llama");
  spm_scores.add_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
  spm_scores.add_float32_array("tokenizer.ggml.scores", {0.0f, -1.0f});
  EXPECT_NE(convert_error(spm_scores).message().find("tokenizer.ggml.scores"), std::string::npos);
  gguf::Writer no_pre;  // llama.cpp falls back to its own "default" regexes: not guessed here
  no_pre.add_string("tokenizer.ggml.model", "gpt2");
  no_pre.add_string_array("tokenizer.ggml.tokens", {"a", "b"});
  Status st = convert_error(no_pre);
  EXPECT_EQ(st.code(), ErrorCode::kUnsupported);
  EXPECT_NE(st.message().find("pre-tokenizer '(none)'"), std::string::npos) << st.to_string();
  gguf::Writer bad_types;  // a shape nlohmann would throw on becomes an error value
  bad_types.add_string("tokenizer.ggml.model", "gpt2");
  bad_types.add_string("tokenizer.ggml.pre", "gpt-2");
  bad_types.add_string_array("tokenizer.ggml.tokens", {"a", "\xFF\xFE"});  // not UTF-8
  st = convert_error(bad_types);
  EXPECT_EQ(st.code(), ErrorCode::kFormatError) << st.to_string();
}

TEST(GgufModel, ADirectoryHoldingOneGgufFileLoadsLikeTheFile) {
  Converted c;
  convert(c, Architecture::kLlama, gguf::OutType::kF32, DType::kF32);
  TempDir only;
  std::filesystem::create_directories(only.path());
  std::filesystem::copy_file(c.gguf, only.path() + "/weights.gguf");
  std::string found;
  EXPECT_TRUE(gguf::find_gguf(only.path(), &found));
  EXPECT_EQ(found, only.path() + "/weights.gguf");
  EXPECT_FALSE(gguf::find_gguf(c.hf, &found));  // a checkpoint directory is not GGUF
  LoadOptions o;
  o.threads = 1;
  EXPECT_EQ(logits_of(only.path(), o), logits_of(c.gguf, o));
}

// Blocks as llama.cpp's quantizer wrote them decode exactly as ggml's own dequantizer decodes
// them (testdata/gguf/README.md), for every block type of Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0,
// Q4_1, Q5_0 and Q5_1 files.
TEST(GgufModel, LlamaCppWrittenBlocksDecodeBitExactlyAsGgmlDoes) {
  const std::string path = std::string(XY_TESTDATA_DIR) + "/gguf/llama_cpp_blocks.gguf";
  Result<std::unique_ptr<MappedFile>> map = MappedFile::open(path);
  ASSERT_TRUE(map.is_ok()) << map.status().to_string();
  Result<gguf::File> f = gguf::parse_file((*map)->data(), (*map)->size(), path);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  std::set<std::string> types;
  for (const gguf::TensorInfo& t : f->tensors) {
    if (t.name.size() > 7 && t.name.substr(t.name.size() - 7) == ".golden") continue;
    const gguf::TensorInfo* golden = f->find_tensor(t.name + ".golden");
    ASSERT_NE(golden, nullptr) << t.name;
    ASSERT_EQ(golden->num_elements(), t.num_elements());
    std::vector<float> got(size_t(t.num_elements()));
    ref::dequantize_row(ref::BlockFormat(t.ggml_type), t.data, got.data(), t.num_elements());
    EXPECT_EQ(std::memcmp(got.data(), golden->data, got.size() * 4), 0) << t.name;
    types.insert(t.name.substr(0, t.name.find('.')));
  }
  EXPECT_EQ(types, (std::set<std::string>{"Q4_0", "Q4_1", "Q4_K", "Q5_0", "Q5_1", "Q5_K", "Q6_K",
                                          "Q8_0"}));
}

// A whole file written by llama.cpp (its header, metadata and Q8_0 tensors): the model loads
// close to the checkpoint it came from and the tokenizer gives llama.cpp's own token ids.
// A Q4_K_M file written by llama.cpp's own quantizer (testdata/gguf/README.md) runs on QuantGEMM
// as loaded: close to its exact dequantization and to the f32 checkpoint it came from; and
// `xyserve quantize --type q4_k_m` of that checkpoint picks the same type for every tensor.
TEST(GgufModel, ALlamaCppQ4_K_MFileRunsQuantizedAndOurMixMatchesIt) {
  const std::string path = std::string(XY_TESTDATA_DIR) + "/gguf/tiny_kquant_llama_cpp_q4_k_m.gguf";
  TempDir dir;
  const std::string hf = dir.path() + "/tiny-kquant";
  RandomCheckpointOptions o;
  o.dtype = DType::kF32;  // as `make-model --preset tiny-kquant --dtype f32`, seed 0
  ASSERT_TRUE(write_random_checkpoint(find_model_preset("tiny-kquant")->config, hf, o).is_ok());
  LoadOptions f32;
  f32.weight_dtype = DType::kF32;
  f32.threads = 1;
  LoadOptions quantized = f32;
  quantized.weight_dtype = std::nullopt;
  const std::vector<float> dequantized = logits_of(path, f32);
  EXPECT_LT(rel_l2(dequantized, logits_of(hf, f32)), 0.35);
  EXPECT_LT(rel_l2(logits_of(path, quantized), dequantized), 2e-2);

  const std::string ours = dir.path() + "/ours.gguf";
  ASSERT_TRUE(gguf::convert_checkpoint_to_gguf(hf, ours, gguf::OutType::kQ4_K_M).is_ok());
  Result<gguf::GgufModel> theirs_file = gguf::open_gguf_model(path, DType::kF32);
  Result<gguf::GgufModel> ours_file = gguf::open_gguf_model(ours, DType::kF32);
  ASSERT_TRUE(theirs_file.is_ok() && ours_file.is_ok());
  int compared = 0;
  for (const gguf::TensorInfo& t : theirs_file->file.tensors) {
    const gguf::TensorInfo* mine = ours_file->file.find_tensor(t.name);
    ASSERT_NE(mine, nullptr) << t.name;
    EXPECT_EQ(ref::block_format_info(mine->ggml_type)->name,
              ref::block_format_info(t.ggml_type)->name)
        << t.name;
    ++compared;
  }
  EXPECT_EQ(compared, 39);
  EXPECT_LT(rel_l2(logits_of(ours, f32), logits_of(hf, f32)), 0.35);
}

TEST(GgufModel, AFileWrittenByLlamaCppLoadsWithItsTokenizer) {
  const std::string path = std::string(XY_TESTDATA_DIR) + "/gguf/tiny_llama_cpp_q8_0.gguf";
  TempDir dir;
  const std::string hf = dir.path() + "/tiny";
  RandomCheckpointOptions o;
  o.dtype = DType::kF32;  // as `make-model --preset tiny --dtype f32`, seed 0
  ASSERT_TRUE(write_random_checkpoint(find_model_preset("tiny")->config, hf, o).is_ok());
  LoadOptions f32;
  f32.weight_dtype = DType::kF32;
  f32.threads = 1;
  EXPECT_LT(rel_l2(logits_of(path, f32), logits_of(hf, f32)), 2e-2);

  Result<gguf::GgufModel> g = gguf::open_gguf_model(path, DType::kF32);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  Result<gguf::TokenizerFiles> files = gguf::tokenizer_files_from_gguf(g->file, path);
  ASSERT_TRUE(files.is_ok()) << files.status().to_string();
  Result<std::unique_ptr<Tokenizer>> tok =
      Tokenizer::load_json(files->tokenizer_json, files->tokenizer_config_json, path);
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  const std::pair<const char*, std::vector<int32_t>> cases[] = {
      {"Hello world, it's 2026!", {72, 743, 111, 263, 286, 370, 44, 331, 442, 32, 624, 54, 33}},
      {"  leading spaces and\ttabs\n\nnew lines",
       {32,  280, 101, 312, 289, 262, 112, 319, 278, 268, 9,
        116, 666, 115, 303, 110, 101, 119, 280, 261, 278}},
      {"ünïcödé — 漢字 and emoji 🙂",
       {195, 188, 110, 195, 175, 99,  195, 182, 100, 195, 169, 353, 128,
        148, 32,  230, 188, 162, 229, 173, 151, 268, 350, 835, 32,  1008}},
      {"<|im_start|>user\nhi<|im_end|>", {1022, 117, 892, 10, 309, 1023}},
  };
  for (const auto& [text, want] : cases) {
    Result<std::vector<int32_t>> ids = (*tok)->encode(text, true);
    ASSERT_TRUE(ids.is_ok());
    EXPECT_EQ(*ids, want) << text;
  }
}

}  // namespace
}  // namespace xy
