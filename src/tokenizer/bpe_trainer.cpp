#include "tokenizer/bpe_trainer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace xy {

namespace {

// GPT-2's reversible map from bytes to printable code points, so every token is a valid string.
std::vector<std::string> byte_alphabet() {
  std::vector<int> code(256, -1);
  for (int b = 0; b < 256; ++b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) code[b] = b;
  }
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    if (code[b] < 0) code[b] = next++;
  }
  std::vector<std::string> out(256);
  for (int b = 0; b < 256; ++b) {
    const int cp = code[b];
    std::string s;
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else {  // all code points here are < 0x800: two UTF-8 bytes
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    out[b] = s;
  }
  return out;
}

using PcreCode = std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)>;
using PcreMatch = std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)>;

// Splits text into pre-tokens with the byte-level regex; appends them to `counts`.
Status count_pretokens(const std::string& text, std::map<std::string, int64_t>& counts) {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  const std::string& re = byte_level_split_regex();
  PcreCode code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(),
                              PCRE2_UTF | PCRE2_UCP, &err, &err_offset, nullptr),
                &pcre2_code_free);
  if (!code) return internal_error("bpe trainer: pre-tokenizer regex does not compile");
  PcreMatch md(pcre2_match_data_create_from_pattern(code.get(), nullptr), &pcre2_match_data_free);
  PCRE2_SIZE pos = 0;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  while (pos < text.size()) {
    const int rc = pcre2_match(code.get(), subject, text.size(), pos, 0, md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {  // PCRE2_ERROR_UTF8_* for invalid UTF-8, or a matching limit
      return invalid_argument("bpe trainer: corpus is not valid UTF-8 (pcre2 error " +
                              std::to_string(rc) + ")");
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    if (ov[1] == ov[0]) {  // empty match: step one code point
      ++pos;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      continue;
    }
    ++counts[text.substr(ov[0], ov[1] - ov[0])];
    pos = ov[1];
  }
  return Status::ok();
}

struct Word {
  std::vector<int> symbols;  // token ids
  int64_t count = 0;
};

}  // namespace

const std::string& byte_level_split_regex() {
  static const std::string re =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  return re;
}

// ChatML; with tools, Hermes-style function calling as Qwen2.5 renders it (tools listed in the
// system turn, calls as <tool_call> JSON, results as <tool_response> in a user turn). Without
// tools or tool messages it renders exactly plain ChatML.
std::string chatml_template() {
  return "{%- if tools %}"
         "{{ '<|im_start|>system\n' }}"
         "{%- if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}"
         "{%- else %}{{ 'You are a helpful assistant.' }}{%- endif %}"
         "{{ '\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
         "You are provided with function signatures within <tools></tools> XML tags:\n<tools>' }}"
         "{%- for tool in tools %}{{ '\n' }}{{ tool | tojson }}{%- endfor %}"
         "{{ '\n</tools>\n\nFor each function call, return a json object with function name and "
         "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\\\"name\\\": "
         "<function-name>, \\\"arguments\\\": <args-json-object>}\n</tool_call><|im_end|>\n' }}"
         "{%- endif %}"
         "{% for message in messages %}"
         "{% if loop.first and messages[0]['role'] != 'system' and not tools %}"
         "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}"
         "{% endif %}"
         "{%- if message['role'] == 'system' and loop.first and tools %}"
         "{%- elif message['role'] == 'assistant' and message['tool_calls'] %}"
         "{{ '<|im_start|>assistant\n' + (message['content'] or '') }}"
         "{%- for call in message['tool_calls'] %}"
         "{{ '\n<tool_call>\n{\\\"name\\\": \\\"' + call['function']['name'] + "
         "'\\\", \\\"arguments\\\": ' + (call['function']['arguments'] | tojson) + "
         "'}\n</tool_call>' }}"
         "{%- endfor %}"
         "{{ '<|im_end|>\n' }}"
         "{%- elif message['role'] == 'tool' %}"
         "{{ '<|im_start|>user\n<tool_response>\n' + message['content'] + "
         "'\n</tool_response><|im_end|>\n' }}"
         "{%- else %}"
         "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
         "{%- endif %}"
         "{% endfor %}"
         "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
}

Result<TrainedBpe> train_byte_level_bpe(const std::string& corpus, const BpeTrainerOptions& opts) {
  const int n_special = static_cast<int>(opts.special_tokens.size());
  if (opts.vocab_size < 256 + n_special) {
    return invalid_argument("bpe trainer: vocab_size " + std::to_string(opts.vocab_size) +
                            " is smaller than 256 byte tokens + " + std::to_string(n_special) +
                            " special tokens");
  }
  auto is_special = [&](const std::string& t) {
    return std::find(opts.special_tokens.begin(), opts.special_tokens.end(), t) !=
           opts.special_tokens.end();
  };
  if (!opts.eos_token.empty() && !is_special(opts.eos_token)) {
    return invalid_argument("bpe trainer: eos_token '" + opts.eos_token +
                            "' is not a special token");
  }
  if (!opts.bos_token.empty() && !is_special(opts.bos_token)) {
    return invalid_argument("bpe trainer: bos_token '" + opts.bos_token +
                            "' is not a special token");
  }
  if (!opts.pad_token.empty() && !is_special(opts.pad_token)) {
    return invalid_argument("bpe trainer: pad_token '" + opts.pad_token +
                            "' is not a special token");
  }

  std::map<std::string, int64_t> pretoken_counts;
  XY_RETURN_IF_ERROR(count_pretokens(corpus, pretoken_counts));

  TrainedBpe out;
  out.vocab = byte_alphabet();
  std::vector<Word> words;
  words.reserve(pretoken_counts.size());
  for (const auto& [text, count] : pretoken_counts) {
    Word w;
    w.count = count;
    for (unsigned char c : text) w.symbols.push_back(c);
    words.push_back(std::move(w));
  }

  const int max_merges = opts.vocab_size - 256 - n_special;
  std::map<std::pair<int, int>, int64_t> pair_counts;
  for (int m = 0; m < max_merges; ++m) {
    pair_counts.clear();
    for (const Word& w : words) {
      for (size_t i = 0; i + 1 < w.symbols.size(); ++i) {
        pair_counts[{w.symbols[i], w.symbols[i + 1]}] += w.count;
      }
    }
    // Most frequent pair; ties go to the lexicographically smaller pair of strings.
    const std::pair<int, int>* best = nullptr;
    int64_t best_count = 0;
    for (const auto& [pair, count] : pair_counts) {
      if (count < best_count) continue;
      if (count == best_count && best != nullptr) {
        const auto key = std::tie(out.vocab[pair.first], out.vocab[pair.second]);
        const auto best_key = std::tie(out.vocab[best->first], out.vocab[best->second]);
        if (!(key < best_key)) continue;
      }
      best = &pair;
      best_count = count;
    }
    if (best == nullptr || best_count < opts.min_pair_frequency) break;
    const auto [a, b] = *best;
    const int merged = static_cast<int>(out.vocab.size());
    out.vocab.push_back(out.vocab[a] + out.vocab[b]);
    out.merges.emplace_back(out.vocab[a], out.vocab[b]);
    for (Word& w : words) {
      std::vector<int>& s = w.symbols;
      size_t dst = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          s[dst++] = merged;
          ++i;
        } else {
          s[dst++] = s[i];
        }
      }
      s.resize(dst);
    }
  }

  // tokenizer.json, in the layout transformers writes for byte-level BPE (Qwen2/Llama-3 style).
  using ojson = nlohmann::ordered_json;
  const int first_special = static_cast<int>(out.vocab.size());
  ojson added = ojson::array();
  for (int i = 0; i < n_special; ++i) {
    added.push_back({{"id", first_special + i},
                     {"content", opts.special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  ojson byte_level = {{"type", "ByteLevel"},
                      {"add_prefix_space", false},
                      {"trim_offsets", false},
                      {"use_regex", false}};
  ojson vocab = ojson::object();
  for (size_t i = 0; i < out.vocab.size(); ++i) vocab[out.vocab[i]] = static_cast<int>(i);
  ojson merges = ojson::array();
  for (const auto& [a, b] : out.merges) merges.push_back(ojson::array({a, b}));
  ojson tok = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers", ojson::array({{{"type", "Split"},
                                         {"pattern", {{"Regex", byte_level_split_regex()}}},
                                         {"behavior", "Isolated"},
                                         {"invert", false}},
                                        byte_level})}}},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merges}}}};
  for (const std::string& s : opts.special_tokens) out.vocab.push_back(s);
  out.tokenizer_json = tok.dump(2, ' ', false);

  ojson decoder_map = ojson::object();
  for (int i = 0; i < n_special; ++i) decoder_map[std::to_string(first_special + i)] = added[i];
  auto token_or_null = [](const std::string& t) { return t.empty() ? ojson(nullptr) : ojson(t); };
  ojson cfg = {
      {"add_bos_token", !opts.bos_token.empty()},
      {"add_eos_token", false},
      {"added_tokens_decoder", decoder_map},
      {"bos_token", token_or_null(opts.bos_token)},
      {"chat_template", opts.chat_template.empty() ? chatml_template() : opts.chat_template},
      {"clean_up_tokenization_spaces", false},
      {"eos_token", token_or_null(opts.eos_token)},
      {"model_max_length", opts.model_max_length},
      {"pad_token", token_or_null(opts.pad_token)},
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"unk_token", nullptr}};
  out.tokenizer_config_json = cfg.dump(2, ' ', false);
  return out;
}

Status write_tokenizer_files(const TrainedBpe& bpe, const std::string& dir) {
  for (const auto& [name, text] :
       {std::pair<std::string, const std::string*>{"tokenizer.json", &bpe.tokenizer_json},
        {"tokenizer_config.json", &bpe.tokenizer_config_json}}) {
    const std::string path = dir + "/" + name;
    std::ofstream f(path, std::ios::binary);
    f << *text << '\n';
    if (!f) return io_error("cannot write " + path);
  }
  return Status::ok();
}

}  // namespace xy
