// --http of the commands that talk to the local node's HTTP API. Unless the user gives it,
// the address is where the node running on the command's data dir serves its API (the node
// says so in the data dir: running_node.hpp), else the default; so a node started with
// --http on another port is found by every command on its data dir without flags.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace datafold::app {

// Where `datafold node` serves its HTTP API unless told otherwise (its --http default).
inline constexpr const char* kDefaultHttpAddress = "127.0.0.1:9080";

class LocalApiOption {
 public:
  // Adds --http to `command`, described as `purpose` ("The local node's HTTP API").
  // May be added to several sub-commands; any of them giving it counts.
  void add_to(CLI::App& command, const std::string& purpose);

  // The address for a command on `data_dir`: --http as given; else the HTTP API of the
  // node running on `data_dir`, or "off" when that node serves none; else (no node runs
  // there, or it is still starting) kDefaultHttpAddress.
  std::string address(const std::filesystem::path& data_dir) const;

 private:
  std::string value_;
  std::vector<const CLI::Option*> options_;
};

}  // namespace datafold::app
