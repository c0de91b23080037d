// A peer whose last frames and whose FIN or RST reach the node together: the node must
// still see the end and drop the connection at once. One readiness event then covers
// both, and the read that takes the frames comes back short, yet the end is still
// queued behind them; a reader that took a short read for "nothing more" would keep
// a connection its peer had left until the next ping (tls_socket.cpp, wait_readable).
#include "datafold/net/network_core.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "support/raw_requests.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::loopback_config;
using testing::raw_query;
using testing::RawTlsClient;
using testing::start_node;

enum class End { Fin, Reset };

std::string end_name(const ::testing::TestParamInfo<End>& info) { return info.param == End::Fin ? "Fin" : "Reset"; }

// Whether an established IPv4 TCP connection from `local_port` to `remote_port` is in
// this host's table (/proc/net/tcp). A connection reset by its peer leaves it.
bool established(std::uint16_t local_port, std::uint16_t remote_port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const auto port = [](const std::string& address) {
      return static_cast<std::uint16_t>(std::stoul(address.substr(address.find(':') + 1), nullptr, 16));
    };
    if (state == "01" && port(local) == local_port && port(remote) == remote_port) return true;
  }
  return false;
}

class PeerHangUp : public ::testing::TestWithParam<End> {};

TEST_P(PeerHangUp, LastFramesArrivingWithTheEndStillEndTheConnection) {
  auto config = loopback_config();
  config.io_threads = 1;  // the one thread the test keeps busy
  // Only the peer's FIN or RST can end the connection within the test's waits.
  config.ping_interval = 10min;
  config.idle_timeout = 20min;

  // A query from another peer holds the node's I/O thread (a callback that claims it
  // never blocks, and does) while the leaving peer's bytes and its end arrive.
  std::promise<void> busy;
  std::atomic<bool> held{false};
  auto server = start_node(config);
  ASSERT_TRUE(server);
  // Declared after the node, so gone before it: a test that ends early abandons the
  // promise, which wakes the held thread (a broken promise) before the node stops.
  std::promise<void> release;
  server->set_query_callback(
      [&busy, &held, released = release.get_future().share()](Query) {
        if (!held.exchange(true)) busy.set_value();
        released.wait_for(30s);
        return QueryResult{};
      },
      RunOn::IoThread);

  RawTlsClient holder;
  RawTlsClient leaver;
  ASSERT_TRUE(holder.connect(server->listen_port()) && holder.exchange_hello());
  ASSERT_TRUE(leaver.connect(server->listen_port()) && leaver.exchange_hello());
  const NodeId leaver_id = leaver.identity().node_id();
  ASSERT_TRUE(eventually([&] { return server->connected_nodes().contains(leaver_id); }));

  ASSERT_TRUE(holder.send(raw_query(holder, "Hold")));
  ASSERT_EQ(busy.get_future().wait_for(10s), std::future_status::ready);

  // The last frames: a reply to nothing, which the node reads and drops, so nothing it
  // writes back can fail and end the connection instead.
  PongMessage last;
  last.message_id = Uuid::random();
  last.ping_id = Uuid::random();
  ASSERT_TRUE(leaver.send(last));
  const std::uint16_t leaver_port = leaver.local_port();
  // The kernel raises no event when the peer acknowledges: what is still unacknowledged
  // is polled.
  const auto all_acknowledged = [&] { return leaver.unacknowledged() == 0u; };
  if (GetParam() == End::Fin) {
    leaver.hang_up();
    ASSERT_TRUE(eventually(all_acknowledged)) << "the FIN never reached the node's host";
  } else {
    ASSERT_TRUE(eventually(all_acknowledged)) << "the last frames never reached the node's host";
    leaver.reset();
    ASSERT_TRUE(eventually([&] { return !established(server->listen_port(), leaver_port); }))
        << "the RST never reached the node's host";
  }
  release.set_value();

  EXPECT_TRUE(eventually([&] { return !server->connected_nodes().contains(leaver_id); }, 10s))
      << "the node kept a connection its peer had ended";
  if (GetParam() == End::Fin) {
    EXPECT_TRUE(leaver.wait_closed(10s)) << "the node never closed its side";
  }
}

INSTANTIATE_TEST_SUITE_P(Ends, PeerHangUp, ::testing::Values(End::Fin, End::Reset), end_name);

}  // namespace
}  // namespace datafold::net
