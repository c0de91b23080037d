// FaultProxy: a TCP proxy on loopback that sits between two nodes and breaks the
// byte stream on demand (delay, stall, cut, cut mid-frame, truncate, flip bits),
// so tests can check what a node does when the network misbehaves.
//
// Each accepted connection is forwarded to the target on the proxy's own thread.
// A fault, once set, holds for every current and future connection until clear();
// every setter returns only once the fault is in force. Byte counts ("after N
// bytes", "at offset N") run from the moment the fault is set on a connection
// already open, and from its first byte on a connection opened later.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace datafold::net::testing {

class FaultProxy {
 public:
  enum class Direction { ToServer, ToClient, Both };

  // Listens on 127.0.0.1, port 0, and forwards to `target` ("ip:port").
  // Fails the current test (and returns nullptr) if it cannot.
  static std::unique_ptr<FaultProxy> start(const std::string& target);
  ~FaultProxy();  // closes every connection
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // "127.0.0.1:<port>": give this to the client instead of the server's address.
  std::string address() const;
  // Connections accepted and not yet closed on both sides; 0 means nothing leaked.
  std::size_t open_connections() const;
  std::size_t accepted_connections() const;

  // A slow or distant link: every chunk waits `per_chunk` before it is passed on.
  void delay(Direction direction, std::chrono::milliseconds per_chunk);
  // A black hole (a peer frozen in a debugger, a NAT that lost its mapping): nothing
  // is passed on and nothing more is read, yet both sockets stay open. clear()
  // passes on what was held back.
  void stall(Direction direction);
  // A crash or a reset link: closes both sides of every open connection now.
  // Not a lasting fault: later connections are not affected.
  void cut();
  // A link that dies mid-message: passes on exactly `bytes` more, then closes both sides.
  void cut_after(Direction direction, std::uint64_t bytes);
  // A middlebox that silently drops a flow: passes on `bytes` more, then discards
  // everything while keeping both sockets open, so the peer waits on half a frame.
  void truncate_after(Direction direction, std::uint64_t bytes);
  // Corruption TCP's checksum missed: flips one bit of the byte `offset` bytes on.
  void flip_byte_at(Direction direction, std::uint64_t offset);
  // The same, in every `nth` byte passed on (0 turns it off).
  void flip_every(Direction direction, std::uint64_t nth);
  // Every fault off; stalled streams resume.
  void clear();

 private:
  struct Engine;
  explicit FaultProxy(std::unique_ptr<Engine> engine);
  std::unique_ptr<Engine> engine_;
};

}  // namespace datafold::net::testing
