#include "load/child_pipe.hpp"
#include "flood/flood_node_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>
#include <utility>

#include <map>

#include "datafold/net/network_core.hpp"

namespace datafold::bench {

namespace {

constexpr auto kReapDeadline = std::chrono::seconds(30);

net::QueryResult answer(const net::NetworkCore& node, const net::Query& query) {
  static const std::string bulk(kBulkReplyBytes, 'x');
  net::QueryResult result;
  const auto stats = query.schema_name == kStatsSchema ? node.stats() : net::NetworkStats{};
  const std::pair<const char*, std::uint64_t> figures[] = {
      {"memory_budget_bytes", stats.memory_budget_bytes},
      {"memory_in_use_bytes", stats.memory_in_use_bytes},
      {"memory_peak_bytes", stats.memory_peak_bytes},
      {"connections_closed_over_budget", stats.connections_closed_over_budget},
      {"backpressure_pauses", stats.backpressure_pauses},
      {"requests_rate_limited", stats.requests_rate_limited},
      {"requests_in_flight_limited", stats.requests_in_flight_limited},
      {"queries_answered", stats.queries_answered},
      {"open_connections", stats.open_connections},
      {"reputation_banned", 0},
      {"reputation_avoided", 0},
      {"reputation_good", 0},
      {"reputation_refused_banned", 0},
      {"requester_score_x10", 0},
      {"others_lowest_score_x10", 0},
      {"others_highest_score_x10", 0},
      {"others_scored", 0},
  };
  // What the node thinks of its peers: the attackers' keys (and the asker's own).
  std::map<std::string, std::int64_t> standing;
  if (query.schema_name == kStatsSchema) {
    const auto reputation = node.reputation_stats();
    for (const auto& [state, count] : reputation.subjects_by_state)
      standing["reputation_" + state] = static_cast<std::int64_t>(count);
    standing["reputation_refused_banned"] = static_cast<std::int64_t>(reputation.refused_banned);
    const auto asker = net::PublicKey::from_string(query.pub_key);
    if (asker) standing["requester_score_x10"] = static_cast<std::int64_t>(node.reputation_of(asker->node_id()).score * 10);
    // Every other scored key is an attacker's: only they and the asker talk to this node.
    std::optional<double> lowest, highest;
    std::int64_t scored = 0;
    for (const auto& entry : node.reputation()) {
      if (!entry.is_node || (asker && entry.subject == asker->node_id().to_string())) continue;
      lowest = std::min(lowest.value_or(entry.score), entry.score);
      highest = std::max(highest.value_or(entry.score), entry.score);
      ++scored;
    }
    standing["others_lowest_score_x10"] = static_cast<std::int64_t>(lowest.value_or(0) * 10);
    standing["others_highest_score_x10"] = static_cast<std::int64_t>(highest.value_or(0) * 10);
    standing["others_scored"] = scored;
  }
  for (const auto& field : query.fields) {
    std::optional<net::Json> value;
    if (query.schema_name == kFloodSchema && field == kBulkField) value = net::Json(bulk);
    if (query.schema_name == kFloodSchema && field == kSmallField) value = net::Json("ok");
    if (query.schema_name == kStatsSchema)
      for (const auto& [name, figure] : figures)
        if (field == name)
          value = net::Json(standing.count(name) ? standing[name] : static_cast<std::int64_t>(figure));
    if (value) {
      result.results.push_back({field, std::move(*value)});
    } else {
      result.results.push_back({field, net::SchemaError{net::SchemaError::Kind::InvalidField, "no such field"}});
    }
  }
  return result;
}

[[noreturn]] void run_node(int report_fd, int control_fd, const FloodNodeOptions& options) {
  // The node's log lines (bans, closes) go to stderr: the bench's stdout is its JSON alone.
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  net::NetworkConfig config;
  config.listen_address = "127.0.0.1";
  config.listen_port = 0;
  config.network_name = options.network_name;
  config.max_connections = options.max_connections;
  config.memory_budget_bytes = options.memory_budget_mib << 20;
  config.max_requests_per_second_per_peer = static_cast<double>(options.max_requests_per_second);
  config.request_burst_per_peer = 2 * options.max_requests_per_second;  // the library's ratio (2 000 / 4 000)
  config.backpressure_stall_timeout = options.stall_timeout;
  // Credit for answered requests is given each tick: a tick of a second shows it within the run.
  config.reputation.tick_interval = kReputationTick;
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


}  // namespace

std::optional<FloodNodeProcess> FloodNodeProcess::start(const FloodNodeOptions& options,
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
    // The node logs to stdout; the parent's stdout is the JSON report.
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    ::close(report[0]);
    ::close(control[1]);
    run_node(report[1], control[0], options);
  }
  ::close(report[1]);
  ::close(control[0]);
  FloodNodeProcess process(pid, control[1]);
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

FloodNodeProcess::FloodNodeProcess(FloodNodeProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), control_fd_(std::exchange(other.control_fd_, -1)), port_(other.port_) {}

FloodNodeProcess::~FloodNodeProcess() {
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

std::uint64_t FloodNodeProcess::status_kib(const std::string& wanted) const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string key;
  while (status >> key) {
    if (key == wanted) {
      std::uint64_t kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

}  // namespace datafold::bench
