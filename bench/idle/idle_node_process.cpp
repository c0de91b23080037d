#include "load/child_pipe.hpp"
#include "idle/idle_node_process.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <utility>

#include "datafold/net/network_core.hpp"

namespace datafold::bench {

namespace {

constexpr auto kReapDeadline = std::chrono::seconds(30);

net::QueryResult answer(const net::NetworkCore& node, const net::Query& query) {
  net::QueryResult result;
  for (const auto& field : query.fields) {
    if (query.schema_name == kIdleSchema && field == kOpenConnectionsField) {
      result.results.push_back({field, net::Json(node.stats().open_connections)});
    } else if (query.schema_name == kIdleSchema && field == kHeapBytesField) {
      const auto heap = mallinfo2();
      result.results.push_back({field, net::Json(heap.uordblks + heap.hblkhd)});
    } else {
      result.results.push_back({field, net::SchemaError{net::SchemaError::Kind::InvalidField, "no such field"}});
    }
  }
  return result;
}

// The child: runs the node until the parent closes the control pipe (or dies).
[[noreturn]] void run_node(int report_fd, int control_fd, std::size_t max_connections,
                           const std::string& network_name) {
  net::NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.network_name = network_name;
  config.max_connections = max_connections;
  auto node = net::NetworkCore::create(std::move(config), net::NodeId{}, std::nullopt);
  if (!node) {
    write_line(report_fd, "error " + node.error().to_string());
    std::_Exit(1);
  }
  const net::NetworkCore& core = *node;
  node->set_query_callback([&core](net::Query query) { return answer(core, query); });
  if (auto started = node->start(); !started) {
    write_line(report_fd, "error " + started.error().to_string());
    std::_Exit(1);
  }
  write_line(report_fd, std::to_string(node->listen_port()));
  ::close(report_fd);
  char byte = 0;
  for (;;) {
    const auto n = ::read(control_fd, &byte, 1);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  (void)node->stop();
  std::_Exit(0);
}

// Reads one line from `fd` within `deadline`.

}  // namespace

std::optional<IdleNodeProcess> IdleNodeProcess::start(std::size_t max_connections, const std::string& network_name,
                                                      std::chrono::milliseconds deadline, std::string& why) {
  int report[2];
  int control[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    why = "pipe failed";
    return std::nullopt;
  }
  if (::pipe2(control, O_CLOEXEC) != 0) {
    ::close(report[0]);
    ::close(report[1]);
    why = "pipe failed";
    return std::nullopt;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {report[0], report[1], control[0], control[1]}) ::close(fd);
    why = "fork failed";
    return std::nullopt;
  }
  if (pid == 0) {
    ::close(report[0]);
    ::close(control[1]);  // so the parent's exit is seen as end of file
    run_node(report[1], control[0], max_connections, network_name);
  }
  ::close(report[1]);
  ::close(control[0]);
  IdleNodeProcess process(pid, control[1], 0);
  auto line = read_line(report[0], deadline);
  ::close(report[0]);
  if (!line) {
    why = "the node did not report its port in time";
    return std::nullopt;
  }
  const auto port = std::strtoul(line->c_str(), nullptr, 10);
  if (port == 0 || port > 0xFFFF) {
    why = "the node failed to start: " + *line;
    return std::nullopt;
  }
  process.port_ = static_cast<std::uint16_t>(port);
  return process;
}

IdleNodeProcess::IdleNodeProcess(IdleNodeProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      control_fd_(std::exchange(other.control_fd_, -1)),
      port_(other.port_) {}

IdleNodeProcess::~IdleNodeProcess() {
  if (control_fd_ >= 0) ::close(control_fd_);
  if (pid_ <= 0) return;
  const auto until = std::chrono::steady_clock::now() + kReapDeadline;
  while (std::chrono::steady_clock::now() < until) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::fprintf(stderr, "node process %d did not stop in time; killing it\n", static_cast<int>(pid_));
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

std::uint64_t IdleNodeProcess::rss_kib() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::uint64_t kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

}  // namespace datafold::bench
