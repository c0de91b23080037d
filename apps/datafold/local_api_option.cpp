#include "local_api_option.hpp"

#include <algorithm>

#include <CLI/CLI.hpp>

#include "running_node.hpp"

namespace datafold::app {

void LocalApiOption::add_to(CLI::App& command, const std::string& purpose) {
  options_.push_back(command.add_option(
      "--http", value_,
      purpose + " (IP:PORT, or 'off'); default: where the node running on this data dir serves it, else " +
          kDefaultHttpAddress));
}

std::string LocalApiOption::address(const std::filesystem::path& data_dir) const {
  if (std::any_of(options_.begin(), options_.end(), [](const CLI::Option* o) { return o->count() > 0; }))
    return value_;
  if (const auto node = find_running_node(data_dir); node && node->published) return node->http.value_or("off");
  return kDefaultHttpAddress;
}

}  // namespace datafold::app
