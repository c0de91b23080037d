// A datafold node alone in a child process, so its memory can be measured apart
// from whatever talks to it. It answers queries on schema "Idle": field
// "open_connections" (how many it has open) and "heap_bytes" (what malloc has
// handed out and not had back: the live part of its memory, without the freed
// space the allocator keeps).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace datafold::bench {

inline constexpr const char* kIdleSchema = "Idle";
inline constexpr const char* kOpenConnectionsField = "open_connections";
inline constexpr const char* kHeapBytesField = "heap_bytes";

class IdleNodeProcess {
 public:
  // Forks; the child starts a node on 127.0.0.1 (port 0) that accepts up to
  // `max_connections`. Call before this process starts any thread. nullopt, with
  // the reason in `why`, if the node did not report its port within `deadline`.
  static std::optional<IdleNodeProcess> start(std::size_t max_connections, const std::string& network_name,
                                              std::chrono::milliseconds deadline, std::string& why);

  IdleNodeProcess(IdleNodeProcess&& other) noexcept;
  IdleNodeProcess& operator=(IdleNodeProcess&&) = delete;
  // Asks the node to stop and reaps it (killing it if it does not exit within 30 s).
  ~IdleNodeProcess();

  std::uint16_t port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  // The node's resident set (VmRSS in /proc/<pid>/status); 0 if unreadable.
  std::uint64_t rss_kib() const;

 private:
  IdleNodeProcess(pid_t pid, int control_fd, std::uint16_t port) : pid_(pid), control_fd_(control_fd), port_(port) {}

  pid_t pid_ = -1;
  int control_fd_ = -1;  // closing it tells the node to stop
  std::uint16_t port_ = 0;
};

}  // namespace datafold::bench
