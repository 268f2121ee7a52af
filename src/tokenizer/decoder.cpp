#include "tokenizer/decoder.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/split_pattern.h"
#include "tokenizer/utf8.h"

namespace xy {
namespace {

// Maps byte-level code points back to bytes; a token with a code point outside the alphabet
// (an added token such as "<|eot_id|>" maps fine, "héllo" does not) is kept as its UTF-8.
class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      if (auto b = byte_level::decode_token(t)) {
        bytes += *b;
      } else {
        bytes += t;
      }
    }
    tokens.assign(1, utf8::lossy(bytes));
  }
  void token_bytes(std::string& token) const override {
    if (auto b = byte_level::decode_token(token)) token = std::move(*b);
  }
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first_space)
      : replacement_(std::move(replacement)), strip_first_space_(strip_first_space) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (size_t pos = 0; pos < t.size();) {
        if (t.compare(pos, replacement_.size(), replacement_) == 0) {
          out += ' ';
          pos += replacement_.size();
        } else {
          out += t[pos++];
        }
      }
      if (i == 0 && strip_first_space_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
      tokens[i] = std::move(out);
    }
  }
  void token_bytes(std::string& token) const override {
    std::string out;
    for (size_t pos = 0; pos < token.size();) {
      if (token.compare(pos, replacement_.size(), replacement_) == 0) {
        out += ' ';
        pos += replacement_.size();
      } else {
        out += token[pos++];
      }
    }
    token = std::move(out);
  }

 private:
  std::string replacement_;
  bool strip_first_space_;
};

// Runs of "<0xAB>" tokens become the bytes they name. A run that is not valid UTF-8 decodes
// lossily (each maximal invalid subpart -> U+FFFD), as Hugging Face's tokenizers.js does; this
// keeps decoding prefix-consistent for the streaming detokenizer.
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string run;
    bool in_run = false;
    const auto flush = [&] {
      if (in_run) out.push_back(utf8::lossy(run));
      run.clear();
      in_run = false;
    };
    for (std::string& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') byte = parse_hex(t[3], t[4]);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte));
        in_run = true;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
  void token_bytes(std::string& token) const override {
    if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>') {
      const int byte = parse_hex(token[3], token[4]);
      if (byte >= 0) token.assign(1, static_cast<char>(byte));
    }
  }

 private:
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }
  static int parse_hex(char hi, char lo) {
    const int h = hex_digit(hi), l = hex_digit(lo);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character from every token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    const size_t n = content_.size();
    for (std::string& t : tokens) {
      size_t begin = 0, end = t.size();
      for (size_t i = 0; i < start_ && end - begin >= n && t.compare(begin, n, content_) == 0;
           ++i) {
        begin += n;
      }
      for (size_t i = 0; i < stop_ && end - begin >= n && t.compare(end - n, n, content_) == 0;
           ++i) {
        end -= n;
      }
      t = t.substr(begin, end - begin);
    }
  }
  bool window_safe() const override { return start_ <= 1 && stop_ == 0; }

 private:
  std::string content_;
  size_t start_, stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(SplitPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      auto replaced = pattern_.replace_all(t, content_);
      // A regex that hits PCRE2's limits leaves the token unchanged rather than losing text.
      if (replaced.is_ok()) t = std::move(replaced).value();
    }
  }
  void token_bytes(std::string& token) const override {
    std::vector<std::string> one{std::move(token)};
    decode_chain(one);
    token = std::move(one[0]);
  }

 private:
  SplitPattern pattern_;
  std::string content_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }
  void token_bytes(std::string& token) const override {
    for (const auto& p : parts_) p->token_bytes(token);
  }
  bool window_safe() const override {
    for (const auto& p : parts_) {
      if (!p->window_safe()) return false;
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

Result<std::unique_ptr<Decoder>> make_decoder(const tokjson::Json& config, std::string_view where) {
  const std::string at(where);
  XY_ASSIGN_OR_RETURN(std::string type, tokjson::component_type(config, at));
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder());
  if (type == "Metaspace") {
    XY_ASSIGN_OR_RETURN(auto r, tokjson::optional_string(config, "replacement", at));
    std::string replacement = r.value_or("\xE2\x96\x81");
    if (replacement.empty()) return format_error(at + ".replacement: empty");
    XY_ASSIGN_OR_RETURN(auto scheme, tokjson::optional_string(config, "prepend_scheme", at));
    bool strip = true;
    if (scheme) {
      strip = *scheme != "never";
    } else {
      XY_ASSIGN_OR_RETURN(strip, tokjson::bool_or(config, "add_prefix_space", true, at));
    }
    return std::unique_ptr<Decoder>(new MetaspaceDecoder(std::move(replacement), strip));
  }
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Strip") {
    XY_ASSIGN_OR_RETURN(std::string content, tokjson::required_string(config, "content", at));
    if (utf8::count_code_points(content) != 1) {
      return format_error(at + ".content: expected exactly one character");
    }
    XY_ASSIGN_OR_RETURN(int64_t start, tokjson::int_or(config, "start", 0, at));
    XY_ASSIGN_OR_RETURN(int64_t stop, tokjson::int_or(config, "stop", 0, at));
    if (start < 0 || stop < 0) return format_error(at + ": start/stop must be >= 0");
    return std::unique_ptr<Decoder>(new StripDecoder(std::move(content), static_cast<size_t>(start),
                                                     static_cast<size_t>(stop)));
  }
  if (type == "Replace") {
    const auto* pattern = tokjson::find(config, "pattern");
    if (pattern == nullptr) return format_error(at + ".pattern: missing");
    XY_ASSIGN_OR_RETURN(SplitPattern p, SplitPattern::from_json(*pattern, at));
    XY_ASSIGN_OR_RETURN(std::string content, tokjson::required_string(config, "content", at));
    return std::unique_ptr<Decoder>(new ReplaceDecoder(std::move(p), std::move(content)));
  }
  if (type == "Sequence") {
    const auto* list = tokjson::find(config, "decoders");
    if (list == nullptr || !list->is_array())
      return format_error(at + ".decoders: expected an array");
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      XY_ASSIGN_OR_RETURN(auto part,
                          make_decoder((*list)[i], at + ".decoders[" + std::to_string(i) + "]"));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(parts)));
  }
  return unsupported(at + ": decoder type '" + type +
                     "' is not supported (supported: ByteLevel, Metaspace, ByteFallback, Fuse, "
                     "Strip, Replace, Sequence)");
}

}  // namespace xy
