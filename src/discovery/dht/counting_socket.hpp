// The UDP socket OpenDHT runs on, with its datagrams counted. OpenDHT's own
// message statistics count requests only and are reset by every read, so the
// node's figures (DHT datagrams in and out, for /metrics and the convergence
// bench) come from here: a dht::net::DatagramSocket that forwards to the
// UdpSocket it wraps and counts on the way.
//
// Bound at construction, so DhtDiscovery::create() can report a port in use
// before anything runs; OpenDHT calls it from its own threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <opendht/network_utils.h>
#include <opendht/sockaddr.h>

namespace datafold::net::discovery {

struct DatagramCounts {
  std::atomic<std::uint64_t> datagrams_in{0};
  std::atomic<std::uint64_t> datagrams_out{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> send_errors{0};
};

class CountingSocket final : public dht::net::DatagramSocket {
 public:
  // Binds bind4 and/or bind6 (an empty SockAddr: that family is off). Throws
  // dht::DhtException if neither can be bound.
  CountingSocket(const dht::SockAddr& bind4, const dht::SockAddr& bind6, std::shared_ptr<DatagramCounts> counts);
  ~CountingSocket() override;

  int sendTo(const dht::SockAddr& dest, const std::uint8_t* data, std::size_t size, bool replied) override;
  bool hasIPv4() const override { return inner_->hasIPv4(); }
  bool hasIPv6() const override { return inner_->hasIPv6(); }
  const dht::SockAddr& getBoundRef(sa_family_t family = AF_UNSPEC) const override {
    return inner_->getBoundRef(family);
  }
  void stop() override { inner_->stop(); }

 private:
  std::shared_ptr<DatagramCounts> counts_;
  std::unique_ptr<dht::net::UdpSocket> inner_;
};

}  // namespace datafold::net::discovery
