// Circuit joins attacked at a relay (PROTOCOL.md section 14.3): a caller that speaks
// the relay protocol by hand (RawTlsClient for its requests, bare TCP for its joins)
// holds the token of a circuit and tries to use it to get past the relay's circuit
// limits. The target is a real node holding a reservation; it joins as it should.
#include "datafold/net/network_core.hpp"

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "relay/circuit_join.hpp"
#include "support/plain_tcp_client.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

std::string join_bytes(const RelayToken& token) {
  const auto preamble = detail::encode_circuit_join(token);
  return {reinterpret_cast<const char*>(preamble.data()), preamble.size()};
}

// Asks the relay for a circuit to `target`; the relay's answer to it, or nullopt.
std::optional<RelayResponseMessage> ask_for_circuit(RawTlsClient& caller, const NodeId& target) {
  RelayRequestMessage connect;
  connect.request_id = Uuid::random();
  connect.kind = RelayRequestMessage::Kind::Connect;
  connect.node = target;
  if (!caller.send(connect)) return std::nullopt;
  for (int i = 0; i < 8; ++i) {
    auto reply = caller.read_message(20s);
    if (!reply) return std::nullopt;
    if (auto* response = std::get_if<RelayResponseMessage>(&*reply); response && response->request_id == connect.request_id)
      return *response;
  }
  return std::nullopt;
}

class RelayJoinAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    auto relay_config = loopback_config();
    relay_config.relay = true;
    relay_config.relay_limits.max_circuits_per_peer = 1;
    relay_ = start_node(relay_config);
    ASSERT_TRUE(relay_);
    auto hidden_config = loopback_config();
    hidden_config.use_relays = NetworkConfig::RelayUse::Always;
    hidden_config.relays = {address_of(*relay_)};
    // The target waits this long for the caller's TLS, which this caller never
    // sends: the circuit stays up for the length of the test.
    hidden_config.handshake_timeout = 60s;
    hidden_ = start_node(hidden_config);
    ASSERT_TRUE(hidden_);
    ASSERT_TRUE(eventually([&] { return relay_->reachability().relay.reservations == 1; }, 15s));
    ASSERT_TRUE(caller_.connect(relay_->listen_port()));
    ASSERT_TRUE(caller_.exchange_hello());
  }

  // Opens a circuit to the hidden node and joins it as the caller: the hidden node
  // joins it too (invited), so it runs.
  RelayToken open_running_circuit() {
    auto offer = ask_for_circuit(caller_, hidden_->local_node_id());
    EXPECT_TRUE(offer);
    if (!offer) return {};
    EXPECT_EQ(offer->status, RelayResponseMessage::Status::Ok) << offer->message;
    EXPECT_TRUE(caller_end_.connect(relay_->listen_port()));
    EXPECT_TRUE(caller_end_.send(join_bytes(offer->token)));
    EXPECT_TRUE(eventually([&] { return relay_->reachability().relay.circuits_running == 1; }, 10s));
    return offer->token;
  }

  std::unique_ptr<NetworkCore> relay_;
  std::unique_ptr<NetworkCore> hidden_;
  RawTlsClient caller_;
  PlainTcpClient caller_end_;  // the caller's end of the circuit
};

TEST_F(RelayJoinAttack, ASecondCircuitPastThePerPeerLimitIsRefusedAndAForeignTokenIsClosed) {
  const auto token = open_running_circuit();
  ASSERT_NE(token, RelayToken{});
  EXPECT_EQ(relay_->reachability().relay.circuits_opened, 1u);

  auto second = ask_for_circuit(caller_, hidden_->local_node_id());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, RelayResponseMessage::Status::Refused) << second->message;

  // A token the relay never issued: closed, and the running circuit stays counted.
  RelayToken forged = token;
  forged[0] ^= 0xff;
  PlainTcpClient stranger;
  ASSERT_TRUE(stranger.connect(relay_->listen_port()));
  ASSERT_TRUE(stranger.send(join_bytes(forged)));
  EXPECT_TRUE(stranger.closed_within(10s));
  EXPECT_EQ(relay_->reachability().relay.circuits_running, 1u);
  EXPECT_FALSE(caller_end_.closed_within(100ms));  // the circuit itself is untouched
}

// A third join with a running circuit's token is refused (RelayBook::join says
// Unknown) — but RelayServer::serve_join then calls book_.end(token) for it
// (src/relay/relay_server.cpp, the `if (token && !first)` branch after the
// switch), which drops the *running* circuit from the book while its pipe keeps
// running. The caller, who holds the token, can so open circuits past
// max_circuits and max_circuits_per_peer: one extra join per circuit frees its slot.
// Disabled until that is fixed; run with --gtest_also_run_disabled_tests.
TEST_F(RelayJoinAttack, AThirdJoinWithARunningCircuitsTokenDoesNotFreeItsSlot) {
  const auto token = open_running_circuit();
  ASSERT_NE(token, RelayToken{});

  PlainTcpClient third;
  ASSERT_TRUE(third.connect(relay_->listen_port()));
  ASSERT_TRUE(third.send(join_bytes(token)));
  EXPECT_TRUE(third.closed_within(10s)) << "a third join must be closed";
  EXPECT_FALSE(caller_end_.closed_within(100ms));  // the circuit runs on

  EXPECT_EQ(relay_->reachability().relay.circuits_running, 1u) << "the running circuit is no longer counted";
  auto second = ask_for_circuit(caller_, hidden_->local_node_id());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, RelayResponseMessage::Status::Refused)
      << "a second circuit past max_circuits_per_peer = 1 was granted";
}

}  // namespace
}  // namespace datafold::net::testing
