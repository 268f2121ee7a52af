// strftime_now() for chat templates (Llama 3.x prints "Today Date: 26 Jul 2024"). Only
// the directives @huggingface/jinja supports (%Y %m %d %b %B %H %M %%) are replaced;
// others are left as written, as there.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace xy::jinja {

// `t` in seconds since the Unix epoch, formatted in UTC with English month names.
std::string strftime_utc(std::time_t t, std::string_view format);

}  // namespace xy::jinja
