// One attempt of a dial (network_node_dial.cpp, network_node_relay.cpp): what
// cancelling it must close. Touched only on its dial's executor (one handler at a time).
#pragma once

#include <memory>

#include <asio/ip/tcp.hpp>

#include "node/network_node.hpp"

namespace datafold::net {

struct NetworkNode::DialAttempt {
  std::shared_ptr<asio::ip::tcp::socket> socket;  // until TLS takes it over
  ConnectionPtr connection;                       // from then on
  bool cancelled = false;

  void cancel() {
    cancelled = true;
    if (connection) {
      connection->close();
    } else if (socket) {
      std::error_code ignored;
      socket->close(ignored);
    }
  }
};

}  // namespace datafold::net
