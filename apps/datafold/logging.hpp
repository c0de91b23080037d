// Logging setup: spdlog's default logger (which the library logs through) on stderr.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace datafold::app {

// The names --log-level accepts, quietest last.
const std::vector<std::string>& log_level_names();

// Sends every log line to stderr at `level` (one of log_level_names()).
void init_logging(std::string_view level);

}  // namespace datafold::app
