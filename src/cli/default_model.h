// Where the shipped models live, so commands can run without --model: the target
// (models/xy-target) and its speculative-decoding draft (models/xy-draft), trained by
// tools/train/ (see models/README.md).
#pragma once

#include <string>

namespace xy::cli {

// The default target checkpoint directory: the first of $XYSERVE_MODEL, ./models/xy-target, and
// models/xy-target of the source tree this binary was built in (found from the executable's path,
// <root>/<build dir>/src/cli/xyserve), that holds a config.json. "" when there is none.
std::string default_target_model_dir();

// The draft that goes with `target_dir`: the sibling xy-draft directory when target_dir is the
// shipped xy-target (same tokenizer, trained on the same data) and the draft exists; "" otherwise,
// so a user's own --model never silently gets the shipped draft.
std::string default_draft_model_dir(const std::string& target_dir);

}  // namespace xy::cli
