#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace datafold::app {

const std::vector<std::string>& log_level_names() {
  static const std::vector<std::string> kNames = {"trace", "debug", "info", "warn",
                                                  "error", "critical", "off"};
  return kNames;
}

void init_logging(std::string_view level) {
  // spdlog's default logger writes to stdout, which belongs to command output (--json).
  auto logger = spdlog::stderr_color_mt("datafold");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace datafold::app
