// Attack on the frame-size limit (DESIGN.md sections 7 and 11: max_frame_bytes) while a
// well-behaved peer keeps asking the node for schemas and answers: raw peers announce
// frames one byte over the limit, and send no body at all.
#include "datafold/net/network_core.hpp"

#include <gtest/gtest.h>

#include "support/known_answers.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::gets_correct_answers;
using testing::RawTlsClient;

constexpr std::size_t kMaxFrameBytes = 4096;
constexpr int kAttackers = 5;

std::string length_prefix(std::uint32_t length) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
          static_cast<char>(length)};
}

TEST(LimitsAttack, OversizeFrameGetsProtocolErrorAndCloseWhileOthersAreServed) {
  auto config = testing::loopback_config();
  config.max_frame_bytes = kMaxFrameBytes;
  auto server = testing::start_node(config);
  auto resident = testing::start_node();
  ASSERT_TRUE(server && resident);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);
  const NodeId& id = server->local_node_id();
  ASSERT_TRUE(gets_correct_answers(*resident, id));

  for (int i = 0; i < kAttackers; ++i) {
    RawTlsClient attacker;
    ASSERT_TRUE(attacker.connect(server->listen_port()));
    ASSERT_TRUE(attacker.exchange_hello());
    // Only the header: the node must refuse on the announced length, not buffer a body first.
    ASSERT_TRUE(attacker.write(length_prefix(kMaxFrameBytes + 1)));
    // While the node deals with it, the resident peer is served.
    EXPECT_TRUE(gets_correct_answers(*resident, id)) << "attacker " << i;

    auto reply = attacker.read_message();
    ASSERT_TRUE(reply) << "attacker " << i << " got no Error before the close";
    auto* error = std::get_if<ErrorMessage>(&*reply);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(error->code, ErrorCode::ProtocolError) << error->message;
    EXPECT_FALSE(error->related_message_id);
    EXPECT_TRUE(attacker.wait_closed()) << "attacker " << i << " was not disconnected";
  }

  EXPECT_TRUE(testing::eventually([&] { return server->stats().open_connections == 1; }));
  EXPECT_EQ(server->stats().protocol_errors, static_cast<std::uint64_t>(kAttackers))
      << "the operator cannot see oversize frames in the stats";
  EXPECT_TRUE(gets_correct_answers(*resident, id));
}

}  // namespace
}  // namespace datafold::net
