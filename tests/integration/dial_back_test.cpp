// DialBack on loopback (DESIGN.md section 10.3, PROTOCOL.md section 14.1): a node
// that asks a peer to dial it back learns it is reachable; a port where nothing (or
// someone else) listens is reported not reachable, with why; the dial only ever goes
// to the IP the request came from, so it cannot be aimed at a third party; a burst
// of requests from one IP is cut to the rate while the node keeps answering queries;
// dial-backs in flight are limited in total, across IPs; and the probe connection
// is not kept by the node it checked.
//
// Raw requests come from a RawTlsClient, bound to 127.0.0.2 or 127.0.0.3 where a
// test needs a second or third host as the node sees it.
#include "datafold/net/network_core.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include "support/known_answers.hpp"
#include "support/raw_requests.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

// A loopback port nobody listens on: bound, read and released.
std::uint16_t unused_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

DialBackRequestMessage dial_back_request(std::uint16_t port) {
  DialBackRequestMessage request;
  request.request_id = Uuid::random();
  request.port = port;
  return request;
}

// Sends one DialBackRequest for `port` and returns the reply to it (nullopt if none came).
std::optional<Message> ask_dial_back(RawTlsClient& raw, std::uint16_t port) {
  const auto request = dial_back_request(port);
  if (!raw.send(request)) return std::nullopt;
  // The node dials (TCP and TLS handshake) before it answers.
  for (int i = 0; i < 8; ++i) {
    auto reply = raw.read_message(20s);
    if (!reply) return std::nullopt;
    if (auto* answer = std::get_if<DialBackResponseMessage>(&*reply); answer && answer->request_id == request.request_id)
      return reply;
    if (auto* error = std::get_if<ErrorMessage>(&*reply); error && error->related_message_id == request.request_id)
      return reply;
  }
  return std::nullopt;
}

// A raw client from `source_ip`, connected to `node` and past the Hello.
bool connect_raw(RawTlsClient& raw, const NetworkCore& node, const std::string& source_ip = "") {
  return raw.connect_from(source_ip, node.listen_port()) && raw.exchange_hello();
}

// A node that asks its peers to dial it back (as one that would keep relay
// reservations whatever the answer; it knows no relay, so it holds none).
NetworkConfig asking_config() {
  auto config = loopback_config();
  config.use_relays = NetworkConfig::RelayUse::Always;
  return config;
}

// ------------------------------------------------------------------ reachable, or not

TEST(DialBack, ANodeThatAsksAPeerIsReportedReachableAtItsListeningAddress) {
  auto peer = start_node();
  ASSERT_TRUE(peer);
  auto asker = start_node(asking_config());
  ASSERT_TRUE(asker);
  EXPECT_EQ(asker->reachability().status, ReachabilityStatus::Unknown);
  EXPECT_TRUE(asker->reachability().reachable_addresses.empty());

  introduce(*asker, *peer);
  ASSERT_TRUE(asker->connect_to_node(peer->local_node_id()).ok());
  // It asks on its own, from its periodic maintenance.
  ASSERT_TRUE(eventually([&] { return asker->reachability().status == ReachabilityStatus::Reachable; }, 30s))
      << "status: " << to_string(asker->reachability().status);
  const auto report = asker->reachability();
  ASSERT_EQ(report.reachable_addresses.size(), 1u);
  EXPECT_EQ(report.reachable_addresses.front(), address_of(*asker));
  EXPECT_TRUE(report.relayed_addresses.empty());
  EXPECT_EQ(peer->stats().dial_backs_answered, 1u);
  EXPECT_EQ(peer->stats().dial_backs_refused, 0u);
  // The peer, which never asks (use_relays Never), knows nothing of its own.
  EXPECT_EQ(peer->reachability().status, ReachabilityStatus::Unknown);
}

TEST(DialBack, APortWhereNothingListensIsReportedNotReachableWithAReason) {
  auto node = start_node();
  ASSERT_TRUE(node);
  const auto port = unused_port();
  RawTlsClient raw;
  ASSERT_TRUE(connect_raw(raw, *node));
  auto reply = ask_dial_back(raw, port);
  ASSERT_TRUE(reply) << "no answer to the DialBackRequest";
  auto* answer = std::get_if<DialBackResponseMessage>(&*reply);
  ASSERT_TRUE(answer) << "answered with " << to_string(type_of(*reply));
  EXPECT_FALSE(answer->reachable);
  EXPECT_EQ(answer->address, "127.0.0.1:" + std::to_string(port));
  EXPECT_FALSE(answer->detail.empty()) << "not reachable, but no reason given";
  EXPECT_EQ(node->stats().dial_backs_answered, 1u);
}

TEST(DialBack, APortWhereAnotherNodeListensIsNotReachableForTheAsker) {
  // The dial expects the asker's key: another node answering at that port does
  // not make the asker reachable.
  auto node = start_node();
  ASSERT_TRUE(node);
  auto other = start_node();
  ASSERT_TRUE(other);
  RawTlsClient raw;
  ASSERT_TRUE(connect_raw(raw, *node));
  auto reply = ask_dial_back(raw, other->listen_port());
  ASSERT_TRUE(reply);
  auto* answer = std::get_if<DialBackResponseMessage>(&*reply);
  ASSERT_TRUE(answer) << "answered with " << to_string(type_of(*reply));
  EXPECT_FALSE(answer->reachable);
  EXPECT_EQ(answer->address, address_of(*other));
  EXPECT_FALSE(answer->detail.empty());
  // The other node saw a connection that it did not keep.
  EXPECT_TRUE(eventually([&] { return other->stats().inbound_accepted == 1; }));
  EXPECT_EQ(other->stats().open_connections, 0u);
  EXPECT_TRUE(other->connected_nodes().empty());
}

TEST(DialBack, ANodeWithDialBackOffRefusesTheRequest) {
  auto config = loopback_config();
  config.answer_dial_back = false;
  auto node = start_node(config);
  ASSERT_TRUE(node);
  RawTlsClient raw;
  ASSERT_TRUE(connect_raw(raw, *node));
  EXPECT_FALSE(raw.node_hello().capabilities.dial_back);
  auto reply = ask_dial_back(raw, unused_port());
  ASSERT_TRUE(reply);
  auto* error = std::get_if<ErrorMessage>(&*reply);
  ASSERT_TRUE(error) << "answered with " << to_string(type_of(*reply));
  EXPECT_EQ(error->code, ErrorCode::UnsupportedMessage);
  EXPECT_EQ(node->stats().dial_backs_answered, 0u);
}

// ------------------------------------------------------------------ no third party

TEST(DialBack, CannotBeAimedAtAThirdPartyTheDialGoesToTheAskersOwnIp) {
  auto node = start_node();
  ASSERT_TRUE(node);
  auto third = start_node();  // listens on 127.0.0.1 only
  ASSERT_TRUE(third);
  RawTlsClient raw;
  ASSERT_TRUE(connect_raw(raw, *node, "127.0.0.2"));
  auto reply = ask_dial_back(raw, third->listen_port());
  ASSERT_TRUE(reply);
  auto* answer = std::get_if<DialBackResponseMessage>(&*reply);
  ASSERT_TRUE(answer) << "answered with " << to_string(type_of(*reply));
  EXPECT_FALSE(answer->reachable);
  // The asker's IP with the port it named: not the third node's address.
  EXPECT_EQ(answer->address, "127.0.0.2:" + std::to_string(third->listen_port()));
  EXPECT_FALSE(answer->detail.empty());
  EXPECT_EQ(node->stats().dial_backs_answered, 1u);
  // Nothing reached the third node. (The answer came after the dial ended, so a
  // connection to it would already have been counted.)
  EXPECT_EQ(third->stats().inbound_accepted, 0u);
  EXPECT_EQ(third->stats().handshake_failures, 0u);
  EXPECT_EQ(third->stats().open_connections, 0u);
}

// ------------------------------------------------------------------ rate limit

struct BurstTally {
  std::size_t answered = 0;   // DialBackResponse
  std::size_t exhausted = 0;  // Error{ResourceExhausted}
  std::size_t queries = 0;    // QueryResponse to the queries sent among them
};

// `count` DialBackRequests for `port`, each followed by a query, in one write;
// reads every reply. Anything but the three expected kinds fails the test.
BurstTally burst(RawTlsClient& raw, std::size_t count, std::uint16_t port) {
  std::vector<Message> messages;
  std::vector<Uuid> asked;
  std::vector<Uuid> queried;
  for (std::size_t i = 0; i < count; ++i) {
    auto request = dial_back_request(port);
    asked.push_back(request.request_id);
    messages.push_back(request);
    auto query = raw_query(raw, "Burst");
    queried.push_back(query.query_id);
    messages.push_back(query);
  }
  BurstTally tally;
  if (!raw.write(frames_of(messages))) {
    ADD_FAILURE() << "the node stopped reading";
    return tally;
  }
  auto contains = [](const std::vector<Uuid>& ids, const Uuid& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto reply = raw.read_message(20s);
    if (!reply) {
      ADD_FAILURE() << "no reply " << i << " of " << messages.size();
      return tally;
    }
    if (auto* answer = std::get_if<DialBackResponseMessage>(&*reply)) {
      EXPECT_TRUE(contains(asked, answer->request_id));
      EXPECT_FALSE(answer->reachable);
      ++tally.answered;
    } else if (auto* error = std::get_if<ErrorMessage>(&*reply); error && error->code == ErrorCode::ResourceExhausted) {
      EXPECT_TRUE(error->related_message_id && contains(asked, *error->related_message_id))
          << "a refusal must name the DialBackRequest it refuses";
      ++tally.exhausted;
    } else if (auto* response = std::get_if<QueryResponseMessage>(&*reply)) {
      EXPECT_TRUE(contains(queried, response->query_id));
      ++tally.queries;
    } else {
      ADD_FAILURE() << "reply " << i << " is a " << to_string(type_of(*reply));
    }
  }
  return tally;
}

TEST(DialBack, ABurstFromOneIpIsRefusedPastItsBudgetWhileQueriesAreStillAnswered) {
  constexpr std::size_t kBurst = 6;
  auto config = loopback_config();
  config.dial_back_rate_per_ip = 0.001;  // no refill within the test
  auto node = start_node(config);
  ASSERT_TRUE(node);
  serve_known_answers(*node);
  auto resident = start_node();
  ASSERT_TRUE(resident);
  introduce(*resident, *node);

  RawTlsClient attacker;
  ASSERT_TRUE(connect_raw(attacker, *node));
  const auto port = unused_port();
  const auto tally = burst(attacker, kBurst, port);
  EXPECT_GE(tally.answered, 1u) << "the first requests of a burst are answered";
  EXPECT_LE(tally.answered, 2u) << "a burst of 2 per IP (network_node_reachability.cpp)";
  EXPECT_GE(tally.exhausted, kBurst - 2);
  EXPECT_EQ(tally.answered + tally.exhausted, kBurst);
  EXPECT_EQ(tally.queries, kBurst) << "queries among the refused requests must still be answered";
  EXPECT_EQ(node->stats().dial_backs_refused, tally.exhausted);
  EXPECT_EQ(node->stats().dial_backs_answered, tally.answered);

  // A second connection from the same IP brings no new budget.
  RawTlsClient again;
  ASSERT_TRUE(connect_raw(again, *node));
  auto refused = ask_dial_back(again, port);
  ASSERT_TRUE(refused);
  auto* error = std::get_if<ErrorMessage>(&*refused);
  ASSERT_TRUE(error) << "answered with " << to_string(type_of(*refused));
  EXPECT_EQ(error->code, ErrorCode::ResourceExhausted);

  // Another IP has its own budget, and the node still answers other peers.
  RawTlsClient elsewhere;
  ASSERT_TRUE(connect_raw(elsewhere, *node, "127.0.0.3"));
  auto answered = ask_dial_back(elsewhere, port);
  ASSERT_TRUE(answered);
  auto* answer = std::get_if<DialBackResponseMessage>(&*answered);
  ASSERT_TRUE(answer) << "answered with " << to_string(type_of(*answered));
  EXPECT_EQ(answer->address, "127.0.0.3:" + std::to_string(port));
  EXPECT_TRUE(gets_correct_answers(*resident, node->local_node_id()));
}

// A TCP listener on one loopback IP that accepts connections and never says a
// word: a dial-back to it hangs in the TLS handshake until the dialler gives up.
class SilentListener {
 public:
  explicit SilentListener(const std::string& ip) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    ::inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      return;
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() {
    for (int fd : accepted_) ::close(fd);
    if (fd_ >= 0) ::close(fd_);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  std::uint16_t port() const { return port_; }  // 0 if it could not listen
  // Takes every connection waiting; returns how many it holds.
  std::size_t accept_waiting() {
    for (int fd; (fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) accepted_.push_back(fd);
    return accepted_.size();
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> accepted_;
};

TEST(DialBack, DialBacksInFlightAreLimitedInTotalAcrossIps) {
  // Askers from eight IPs (each well within its own budget) each name a port where
  // a silent listener holds the dial; a ninth asker finds no room until they end.
  constexpr std::size_t kInFlight = 8;  // kMaxDialBacksInFlight, network_node_reachability.cpp
  auto node = start_node();
  ASSERT_TRUE(node);
  std::vector<std::unique_ptr<SilentListener>> listeners;
  std::vector<std::unique_ptr<RawTlsClient>> askers;
  std::vector<Uuid> asked;
  for (std::size_t i = 0; i <= kInFlight; ++i) {
    const std::string ip = "127.0.0." + std::to_string(11 + i);
    listeners.push_back(std::make_unique<SilentListener>(ip));
    ASSERT_NE(listeners.back()->port(), 0) << ip;
    askers.push_back(std::make_unique<RawTlsClient>());
    ASSERT_TRUE(connect_raw(*askers.back(), *node, ip)) << ip;
  }
  for (std::size_t i = 0; i < kInFlight; ++i) {
    auto request = dial_back_request(listeners[i]->port());
    asked.push_back(request.request_id);
    ASSERT_TRUE(askers[i]->send(request));
  }
  // Each of the eight dials has reached its listener and hangs there.
  std::size_t held = 0;
  ASSERT_TRUE(eventually([&] {
    held = 0;
    for (std::size_t i = 0; i < kInFlight; ++i) held += listeners[i]->accept_waiting();
    return held == kInFlight;
  }, 10s)) << held << " dials arrived";

  auto refused = ask_dial_back(*askers[kInFlight], listeners[kInFlight]->port());
  ASSERT_TRUE(refused);
  auto* error = std::get_if<ErrorMessage>(&*refused);
  ASSERT_TRUE(error) << "answered with " << to_string(type_of(*refused));
  EXPECT_EQ(error->code, ErrorCode::ResourceExhausted);
  EXPECT_EQ(listeners[kInFlight]->accept_waiting(), 0u) << "the refused request was dialled anyway";

  // The eight end (the handshake times out) and are answered: not reachable.
  for (std::size_t i = 0; i < kInFlight; ++i) {
    std::optional<Message> reply;
    for (int n = 0; n < 8 && !reply; ++n) {
      reply = askers[i]->read_message(30s);
      if (reply && !std::holds_alternative<DialBackResponseMessage>(*reply)) reply.reset();
    }
    ASSERT_TRUE(reply) << "asker " << i << " got no answer";
    const auto& answer = std::get<DialBackResponseMessage>(*reply);
    EXPECT_EQ(answer.request_id, asked[i]);
    EXPECT_FALSE(answer.reachable);
    EXPECT_FALSE(answer.detail.empty());
  }
  // With room again, the ninth asker is answered.
  auto answered = ask_dial_back(*askers[kInFlight], unused_port());
  ASSERT_TRUE(answered);
  EXPECT_TRUE(std::holds_alternative<DialBackResponseMessage>(*answered))
      << "answered with " << to_string(type_of(*answered));
  EXPECT_EQ(node->stats().dial_backs_refused, 1u);
  EXPECT_EQ(node->stats().dial_backs_answered, kInFlight + 1);
}

// ------------------------------------------------------------------ the probe

TEST(DialBack, TheProbeConnectionIsNotKeptByTheNodeItChecked) {
  auto peer = start_node();
  ASSERT_TRUE(peer);
  serve_known_answers(*peer);
  auto asker = start_node(asking_config());
  ASSERT_TRUE(asker);
  introduce(*asker, *peer);
  ASSERT_TRUE(asker->connect_to_node(peer->local_node_id()).ok());
  ASSERT_EQ(asker->stats().open_connections, 1u);

  ASSERT_TRUE(eventually([&] { return asker->reachability().status == ReachabilityStatus::Reachable; }, 30s));
  // The probe did arrive (the asker's only inbound connection) ...
  EXPECT_EQ(asker->stats().inbound_accepted, 1u);
  // ... and neither end holds more than the one connection they had.
  const auto asker_stats = asker->stats();
  EXPECT_EQ(asker_stats.open_connections, 1u);
  EXPECT_EQ(asker_stats.handshake_failures, 0u);
  EXPECT_EQ(asker_stats.connections_evicted, 0u);
  EXPECT_EQ(asker_stats.outbound_dialled, 1u);
  EXPECT_EQ(peer->stats().open_connections, 1u);
  EXPECT_EQ(peer->stats().inbound_accepted, 1u);
  // That connection is the original one and still serves.
  EXPECT_TRUE(gets_correct_answers(*asker, peer->local_node_id()));
  EXPECT_EQ(asker->stats().outbound_dialled, 1u);
  EXPECT_EQ(asker->stats().open_connections, 1u);
}

}  // namespace
}  // namespace datafold::net::testing
