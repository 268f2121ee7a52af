// String operations shared by filters (`s|upper`) and methods (`s.upper()`), with
// @huggingface/jinja's (JavaScript) semantics where they differ from Python's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xy::jinja {

// Case mapping covers ASCII and the Latin-1/Latin Extended-A/Greek/Cyrillic letters whose
// upper and lower forms have the same UTF-8 length; other characters pass through.
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
// JS /\b\w/ uppercased: the first ASCII word character of each word; the rest untouched.
std::string title_case(std::string_view s);
// First character uppercased, the rest untouched (JS charAt(0).toUpperCase() + slice(1)).
std::string capitalize(std::string_view s);

// Python str.split(sep=None|sep, maxsplit) as @huggingface/jinja implements it. `sep` must
// not be empty (caller checks).
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit);

// Replace the first `count` (all if negative) occurrences; an empty `from` inserts `to`
// between characters, as str.replace does.
std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count);

// Length in UTF-16 code units (JS .length), which is what `|length` on a string reports.
int64_t utf16_length(std::string_view s);

// JS parseInt(s, 10) / parseFloat(s): leading whitespace, optional sign, longest numeric
// prefix; nullopt where JS gives NaN.
std::optional<double> js_parse_int(std::string_view s);
std::optional<double> js_parse_float(std::string_view s);

}  // namespace xy::jinja
