#include "discovery/dht/counting_socket.hpp"

#include <utility>

namespace datafold::net::discovery {

CountingSocket::CountingSocket(const dht::SockAddr& bind4, const dht::SockAddr& bind6,
                               std::shared_ptr<DatagramCounts> counts)
    : counts_(std::move(counts)), inner_(std::make_unique<dht::net::UdpSocket>(bind4, bind6)) {
  // The inner socket's receive thread hands each datagram here; it goes on to
  // whatever OpenDHT set with setOnReceive() on this wrapper (until then,
  // datagrams are dropped, as UdpSocket itself does before run()).
  inner_->setOnReceive([this](dht::net::PacketList&& packets) {
    for (const auto& packet : packets) {
      counts_->datagrams_in.fetch_add(1, std::memory_order_relaxed);
      counts_->bytes_in.fetch_add(packet.data.size(), std::memory_order_relaxed);
    }
    onReceived(std::move(packets));
    return dht::net::PacketList{};
  });
}

CountingSocket::~CountingSocket() {
  // Joins the receive thread before the callback's `this` goes away.
  inner_.reset();
}

int CountingSocket::sendTo(const dht::SockAddr& dest, const std::uint8_t* data, std::size_t size, bool replied) {
  const int error = inner_->sendTo(dest, data, size, replied);
  if (error == 0) {
    counts_->datagrams_out.fetch_add(1, std::memory_order_relaxed);
    counts_->bytes_out.fetch_add(size, std::memory_order_relaxed);
  } else {
    counts_->send_errors.fetch_add(1, std::memory_order_relaxed);
  }
  return error;
}

}  // namespace datafold::net::discovery
