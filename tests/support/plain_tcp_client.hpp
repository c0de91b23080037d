// PlainTcpClient: a bare TCP socket to a node on loopback, for attackers that never
// get as far as TLS (silent clients, byte-at-a-time trickles). Every wait has a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace datafold::net::testing {

class PlainTcpClient {
 public:
  PlainTcpClient() = default;
  ~PlainTcpClient();
  PlainTcpClient(const PlainTcpClient&) = delete;
  PlainTcpClient& operator=(const PlainTcpClient&) = delete;

  // Connects to 127.0.0.1:port. False on failure.
  bool connect(std::uint16_t port);
  // Sends all of `bytes`; false once the node has closed or reset the connection.
  bool send(std::string_view bytes);
  // Waits up to `deadline` for the node to close the connection, discarding anything
  // it sends first. True if it closed (EOF or reset) in time.
  bool closed_within(std::chrono::milliseconds deadline);

 private:
  int fd_ = -1;
};

}  // namespace datafold::net::testing
