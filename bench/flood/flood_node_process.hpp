// The node the flood bench attacks, alone in a child process so its memory (VmHWM)
// is its own. It answers schema "Flood": field "bulk" with kBulkReplyBytes of text
// (what a peer that never reads piles up), field "small" with a short string; and
// schema "Stats": its memory budget figures, limit counters and what it thinks of
// its peers, as integers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace datafold::bench {

inline constexpr const char* kFloodSchema = "Flood";
inline constexpr const char* kBulkField = "bulk";
inline constexpr const char* kSmallField = "small";
inline constexpr const char* kStatsSchema = "Stats";
inline constexpr std::size_t kBulkReplyBytes = 16 * 1024;
// The node's reputation tick (library default a minute), so credit shows within a run.
inline constexpr std::chrono::milliseconds kReputationTick{1'000};

struct FloodNodeOptions {
  std::size_t memory_budget_mib = 256;
  std::size_t max_connections = 512;
  std::size_t max_requests_per_second = 2'000;  // per peer, the library's default
  std::chrono::milliseconds stall_timeout{20'000};  // the library's default
  std::string network_name;
};

class FloodNodeProcess {
 public:
  // Forks (call before this process starts any thread); the child runs a node on
  // 127.0.0.1, port 0. nullopt with the reason in `why` if it did not report its port.
  static std::optional<FloodNodeProcess> start(const FloodNodeOptions& options, std::chrono::milliseconds deadline,
                                               std::string& why);
  FloodNodeProcess(FloodNodeProcess&& other) noexcept;
  FloodNodeProcess& operator=(FloodNodeProcess&&) = delete;
  // Asks the node to stop and reaps it (killing it after 30 s).
  ~FloodNodeProcess();

  std::uint16_t port() const noexcept { return port_; }
  // A line of /proc/<pid>/status in KiB ("VmRSS:", "VmHWM:"); 0 if unreadable.
  std::uint64_t status_kib(const std::string& key) const;

 private:
  FloodNodeProcess(pid_t pid, int control_fd) : pid_(pid), control_fd_(control_fd) {}
  pid_t pid_ = -1;
  int control_fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace datafold::bench
