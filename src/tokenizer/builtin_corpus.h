// The built-in training text for the tokenizer of `xyserve make-model` checkpoints.
#pragma once

#include <string>

namespace xy {

// English prose, code, numbers and a little non-Latin script, written for this project.
const std::string& builtin_tokenizer_corpus();

}  // namespace xy
