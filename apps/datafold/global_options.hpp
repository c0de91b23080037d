// Options every sub-command accepts, before or after the sub-command's name.
#pragma once

#include <filesystem>
#include <string>

namespace datafold::app {

struct GlobalOptions {
  // Holds identity.pem (and, later, the trust store and the SQLite database).
  // Empty until main() resolves the default.
  std::filesystem::path data_dir;
  // Machine-readable output on stdout instead of human text.
  bool json = false;
  // spdlog level name; logs go to stderr so stdout stays clean for --json.
  std::string log_level = "info";
};

}  // namespace datafold::app
