// Many idle peers in one process: each is a distinct Ed25519 identity that opens
// a real connection to a node (TCP, TLS 1.3 with mutual authentication, the Hello
// exchange, as NetworkCore does) and then says nothing more.
//
// Once its Hello is answered a peer drops its own TLS state and keeps only the
// socket: what is measured is the node's side, and 5,000 client-side TLS streams
// would cost this process hundreds of MiB for nothing. A peer that stays silent
// longer than the node's ping interval misses pings, so use the fleet for less
// than that (30 s by default).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>

#include "datafold/net/identity.hpp"
#include "transport/tls_certificate.hpp"

namespace datafold::testkit {

class IdlePeerFleet {
 public:
  // Makes `size` identities and their certificates (a few hundred microseconds
  // each), so that open() times connecting alone.
  explicit IdlePeerFleet(std::size_t size);
  ~IdlePeerFleet();

  // Connects every peer not yet connected to 127.0.0.1:`port`, at most `parallel`
  // handshakes at a time, until all are open or `deadline` passes. Returns how
  // many peers are open in all; a peer that failed is left for a later call.
  std::size_t open(std::uint16_t port, const std::string& network_name, std::chrono::milliseconds deadline,
                   std::size_t parallel = 32);
  // Closes every open connection (the node sees end of stream).
  void close_all();

  std::size_t size() const noexcept { return identities_.size(); }
  std::size_t open_count() const noexcept { return sockets_.size(); }
  // Why the last peer that failed did, for the operator; empty if none failed.
  const std::string& last_failure() const noexcept { return last_failure_; }

 private:
  struct Run;
  asio::awaitable<void> open_next(std::shared_ptr<Run> run, asio::ip::tcp::endpoint node, std::string network_name);
  asio::awaitable<bool> open_one(std::size_t peer, Run& run, asio::ip::tcp::endpoint node,
                                 const std::string& network_name);

  std::vector<net::Identity> identities_;
  std::vector<net::detail::X509Ptr> certificates_;
  std::vector<bool> connected_;
  std::size_t next_ = 0;  // the next peer open() tries
  std::shared_ptr<asio::ssl::context> tls_;
  asio::io_context io_;
  std::vector<asio::ip::tcp::socket> sockets_;
  std::string last_failure_;
};

}  // namespace datafold::testkit
