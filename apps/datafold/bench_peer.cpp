#include "bench_peer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "load/child_pipe.hpp"

extern char** environ;

namespace datafold::app {
namespace {

constexpr const char* kGrpcPeerName = "datafold-grpc-peer";
// The peer's own setup (handshakes) and tail (calls' 5 s deadline) around its window.
constexpr auto kPeerOverhead = std::chrono::seconds(20);

bench::LoadReport failed(const bench::LoadSpec& spec, std::string why) {
  return bench::failed_report("grpc", spec, std::move(why));
}

// Ends the child however it went: a peer that reported has exited or is about to; one
// that did not is killed, so the bench never waits past its deadline.
void reap(pid_t pid, bool reported) {
  if (!reported) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::optional<std::filesystem::path> find_grpc_peer() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  auto peer = self.parent_path() / kGrpcPeerName;
  if (::access(peer.c_str(), X_OK) != 0) return std::nullopt;
  return peer;
}

std::string grpc_peer_missing_hint() {
  return std::string("--peer grpc needs ") + kGrpcPeerName +
         " beside the datafold executable; it is built when Debian's libgrpc++-dev and protobuf-compiler-grpc "
         "are installed (apt-get install libgrpc++-dev protobuf-compiler-grpc, then build again)";
}

bench::LoadReport run_grpc_peer(const std::filesystem::path& program, const bench::LoadSpec& spec,
                                std::chrono::milliseconds warmup) {
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return failed(spec, std::string("pipe: ") + std::strerror(errno));
  const auto arg = [](auto value) { return std::to_string(value); };
  std::vector<std::string> args = {program.string(),
                                   "--connections", arg(spec.connections),
                                   "--in-flight", arg(spec.in_flight),
                                   "--duration-ms", arg(spec.duration.count()),
                                   "--warmup-ms", arg(warmup.count()),
                                   "--request-bytes", arg(spec.request_bytes),
                                   "--response-bytes", arg(spec.response_bytes)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return failed(spec, "cannot run " + program.string() + ": " + std::strerror(spawned));
  }

  const auto line = bench::read_line(pipe_fds[0], warmup + spec.duration + kPeerOverhead);
  ::close(pipe_fds[0]);
  reap(pid, line.has_value());
  if (!line) return failed(spec, program.filename().string() + " gave no report (its stderr says why)");
  try {
    return bench::LoadReport::from_json(nlohmann::json::parse(*line));
  } catch (const std::exception& e) {
    return failed(spec, program.filename().string() + " reported something other than a LoadReport: " + e.what());
  }
}

}  // namespace datafold::app
