#include "tokenizer/post_processor.h"

#include <string>

namespace xy {
namespace {

// One element of a TemplateProcessing "single" template.
struct TemplatePiece {
  bool is_sequence = false;
  std::vector<int32_t> special_ids;  // the special token's ids when !is_sequence
};

class TemplateProcessor final : public PostProcessor {
 public:
  explicit TemplateProcessor(std::vector<TemplatePiece> pieces) : pieces_(std::move(pieces)) {}
  void apply(std::vector<int32_t>& ids) const override {
    std::vector<int32_t> out;
    out.reserve(ids.size() + added_count());
    for (const auto& p : pieces_) {
      if (p.is_sequence) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.insert(out.end(), p.special_ids.begin(), p.special_ids.end());
      }
    }
    ids.swap(out);
  }
  size_t added_count() const override {
    size_t n = 0;
    for (const auto& p : pieces_) n += p.special_ids.size();
    return n;
  }

 private:
  std::vector<TemplatePiece> pieces_;
};

class NoOpProcessor final : public PostProcessor {
 public:
  void apply(std::vector<int32_t>&) const override {}
  size_t added_count() const override { return 0; }
};

// RobertaProcessing / BertProcessing: cls + ids + sep.
class WrapProcessor final : public PostProcessor {
 public:
  WrapProcessor(int32_t cls, int32_t sep) : cls_(cls), sep_(sep) {}
  void apply(std::vector<int32_t>& ids) const override {
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
  }
  size_t added_count() const override { return 2; }

 private:
  int32_t cls_, sep_;
};

class SequenceProcessor final : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts_(std::move(parts)) {}
  void apply(std::vector<int32_t>& ids) const override {
    for (const auto& p : parts_) p->apply(ids);
  }
  size_t added_count() const override {
    size_t n = 0;
    for (const auto& p : parts_) n += p->added_count();
    return n;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

Result<std::unique_ptr<PostProcessor>> parse_template(const tokjson::Json& config,
                                                      const std::string& at) {
  const auto* single = tokjson::find(config, "single");
  if (single == nullptr || !single->is_array())
    return format_error(at + ".single: expected an array");
  const auto* specials = tokjson::find(config, "special_tokens");
  std::vector<TemplatePiece> pieces;
  for (size_t i = 0; i < single->size(); ++i) {
    const auto& item = (*single)[i];
    const std::string here = at + ".single[" + std::to_string(i) + "]";
    if (const auto* seq = tokjson::find(item, "Sequence")) {
      XY_ASSIGN_OR_RETURN(std::string id, tokjson::required_string(*seq, "id", here + ".Sequence"));
      if (id != "A") {
        return format_error(here + ".Sequence.id: a single-sequence template must use 'A', not '" +
                            id + "'");
      }
      pieces.push_back(TemplatePiece{true, {}});
      continue;
    }
    const auto* special = tokjson::find(item, "SpecialToken");
    if (special == nullptr) {
      return format_error(here + ": expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
    XY_ASSIGN_OR_RETURN(std::string name,
                        tokjson::required_string(*special, "id", here + ".SpecialToken"));
    const tokjson::Json* entry = specials != nullptr ? tokjson::find(*specials, name) : nullptr;
    if (entry == nullptr) {
      return format_error(here + ": special token '" + name + "' is not in " + at +
                          ".special_tokens");
    }
    const auto* ids = tokjson::find(*entry, "ids");
    if (ids == nullptr || !ids->is_array()) {
      return format_error(at + ".special_tokens['" + name + "'].ids: expected an array");
    }
    TemplatePiece piece;
    for (const auto& id : *ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
        return format_error(at + ".special_tokens['" + name + "'].ids: expected token ids");
      }
      piece.special_ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
    pieces.push_back(std::move(piece));
  }
  return std::unique_ptr<PostProcessor>(new TemplateProcessor(std::move(pieces)));
}

Result<int32_t> pair_id(const tokjson::Json& config, const char* key, const std::string& at) {
  const auto* p = tokjson::find(config, key);
  if (p == nullptr || !p->is_array() || p->size() != 2 || !(*p)[1].is_number_integer()) {
    return format_error(at + "." + key + ": expected [token, id]");
  }
  return static_cast<int32_t>((*p)[1].get<int64_t>());
}

}  // namespace

Result<std::unique_ptr<PostProcessor>> make_post_processor(const tokjson::Json& config,
                                                           std::string_view where) {
  const std::string at(where);
  XY_ASSIGN_OR_RETURN(std::string type, tokjson::component_type(config, at));
  if (type == "TemplateProcessing") {
    return parse_template(config, at);
  }
  if (type == "ByteLevel") return std::unique_ptr<PostProcessor>(new NoOpProcessor());
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    XY_ASSIGN_OR_RETURN(int32_t cls, pair_id(config, "cls", at));
    XY_ASSIGN_OR_RETURN(int32_t sep, pair_id(config, "sep", at));
    return std::unique_ptr<PostProcessor>(new WrapProcessor(cls, sep));
  }
  if (type == "Sequence") {
    const auto* list = tokjson::find(config, "processors");
    if (list == nullptr || !list->is_array())
      return format_error(at + ".processors: expected an array");
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < list->size(); ++i) {
      XY_ASSIGN_OR_RETURN(auto part, make_post_processor((*list)[i], at + ".processors[" +
                                                                         std::to_string(i) + "]"));
      parts.push_back(std::move(part));
    }
    return std::unique_ptr<PostProcessor>(new SequenceProcessor(std::move(parts)));
  }
  return unsupported(at + ": post-processor type '" + type +
                     "' is not supported (supported: TemplateProcessing, ByteLevel, "
                     "RobertaProcessing, BertProcessing, Sequence)");
}

}  // namespace xy
