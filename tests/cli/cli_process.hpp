// Running the real `datafold` binary from tests: one-shot commands with a deadline, and
// `datafold node` processes in the background on loopback ports picked by the kernel.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datafold/net/json.hpp"

namespace datafold::cli_test {

using namespace std::chrono_literals;

struct RunResult {
  int exit_code = -1;  // -1 if killed at the deadline or by a signal
  bool timed_out = false;
  std::string out;
  std::string err;

  // The last non-empty line of stderr: the command's one-line error.
  std::string error_line() const;
};

// Runs DATAFOLD_BINARY with `args`, writing `input` to its stdin (then closing it).
// Killed (SIGKILL) when `deadline` passes.
RunResult run_datafold(const std::vector<std::string>& args, const std::string& input = {},
                       std::chrono::milliseconds deadline = 60s);

// Polls `condition` every few milliseconds until it holds or `deadline` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline = 20s);

// A fresh directory under the system temp dir, removed with everything in it at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A path inside it (not created).
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  // Writes `text` to a file inside it; returns the file's path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// A UDP port that was free a moment ago, for a test's private LAN discovery on loopback.
std::uint16_t free_udp_port();
// A TCP port on 127.0.0.1 that was free a moment ago and that nothing listens on.
std::uint16_t free_tcp_port();
// A network name no other test uses, so parallel tests' nodes never talk to each other.
std::string unique_network_name();

// Parses `text` as JSON; a discarded value (is_discarded()) if it is not.
net::Json parse_json(const std::string& text);

// `datafold --data-dir DIR node --listen 127.0.0.1:0 --http 127.0.0.1:0 ARGS…` (ARGS may give
// --http instead) in the background; stdout and stderr go to files in DIR.
class NodeProcess {
 public:
  // Starts it and waits until it prints its id and address and logs its HTTP port.
  // nullptr (with the log in `failure`) if it exits or stays silent for 30 s.
  static std::unique_ptr<NodeProcess> start(const std::string& data_dir, const std::vector<std::string>& args,
                                            std::string* failure = nullptr);
  ~NodeProcess();  // kill()s if still running
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  const std::string& node_id() const { return node_id_; }
  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"
  const std::string& http() const { return http_; }        // "127.0.0.1:PORT" (empty with --http off)
  std::uint16_t http_port() const;
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }

  bool running();
  // SIGKILL, as a crash would end it: no clean-up of its own runs. Waits until it is gone.
  void crash();
  // SIGTERM, then waits up to `deadline` (SIGKILL after it). The exit code, or -1.
  int stop(std::chrono::milliseconds deadline = 20s);
  // stdout and stderr so far.
  std::string log() const;

 private:
  NodeProcess(std::string data_dir, pid_t pid) : data_dir_(std::move(data_dir)), pid_(pid) {}
  void reap(int status);

  std::string data_dir_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string node_id_;
  std::string address_;
  std::string http_;
};

}  // namespace datafold::cli_test
