// The tokenizer inside a GGUF file (tokenizer.ggml.* keys) <-> Hugging Face's tokenizer.json and
// tokenizer_config.json, so the tokenizer code reads GGUF models through the same, tested
// tokenizer.json path, and `xyserve quantize` writes what llama.cpp reads.
//
// Supported: byte-level BPE (tokenizer.ggml.model "gpt2") with the pre-tokenizers named "gpt2",
// "llama-bpe" (Llama 3: merges are skipped for words in the vocabulary), "dbrx" (the Llama 3
// regex without that rule) and "qwen2". Other tokenizer models or pre-tokenizer names are
// kUnsupported, naming them.
#pragma once

#include <string>

#include "core/status.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_writer.h"

namespace xy::gguf {

struct TokenizerFiles {
  std::string tokenizer_json;
  std::string tokenizer_config_json;  // bos/eos tokens, add_bos_token, chat_template
};

// tokenizer.json / tokenizer_config.json texts equivalent to the file's tokenizer metadata.
Result<TokenizerFiles> tokenizer_files_from_gguf(const File& file, const std::string& source);

// Adds the tokenizer.ggml.* keys (and tokenizer.chat_template) for a Hugging Face tokenizer.
// `vocab_size`: the model's embedding rows; the token list is padded to it as llama.cpp's
// converter does ("[PAD<id>]").
Status add_tokenizer_to_gguf(Writer& writer, const TokenizerFiles& hf, int vocab_size,
                             const std::string& source);

}  // namespace xy::gguf
