// Attack on the write-queue bound (DESIGN.md section 8: max_write_queue_bytes) while a
// well-behaved peer keeps asking the node for schemas and answers: a raw peer asks for
// big replies as fast as it can and never reads one. The node must close it rather
// than queue its replies without limit.
#include "datafold/net/network_core.hpp"

#include <vector>

#include <gtest/gtest.h>

#include "support/known_answers.hpp"
#include "support/raw_requests.hpp"
#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::gets_correct_answers;
using testing::raw_query;
using testing::RawTlsClient;

constexpr std::size_t kQueueBytes = 64 * 1024;
constexpr std::size_t kReplyPadding = 32 * 1024;
constexpr std::size_t kBatch = 16;
// 64 MiB of replies at most: far beyond socket buffers plus the queue bound, so a node
// that never closes the attacker fails the test instead of running it forever.
constexpr std::size_t kMaxBatches = 128;

TEST(LimitsAttack, PeerThatNeverReadsIsClosedWhileOthersAreServed) {
  auto config = testing::loopback_config();
  config.max_frame_bytes = kQueueBytes;
  config.max_write_queue_bytes = kQueueBytes;
  auto server = testing::start_node(config);
  auto resident = testing::start_node();
  ASSERT_TRUE(server && resident);
  testing::serve_known_answers(*server);
  testing::introduce(*resident, *server);
  const NodeId& id = server->local_node_id();
  ASSERT_TRUE(gets_correct_answers(*resident, id));

  RawTlsClient attacker;
  ASSERT_TRUE(attacker.connect(server->listen_port()));
  ASSERT_TRUE(attacker.exchange_hello());
  ASSERT_TRUE(testing::eventually([&] { return server->stats().open_connections == 2; }));

  // Each batch asks for kBatch replies of kReplyPadding bytes; the attacker reads none.
  // Once the node has closed it, the attacker's writes fail (the node's end is gone).
  std::size_t batches = 0;
  bool writes_refused = false;
  while (!writes_refused && batches < kMaxBatches) {
    std::vector<Message> batch;
    for (std::size_t i = 0; i < kBatch; ++i)
      batch.push_back(raw_query(attacker, "Bulk", Json{{"padding", kReplyPadding}}));
    writes_refused = !attacker.write(testing::frames_of(batch));
    ++batches;
    // Between batches, while the attacker's replies pile up, the resident peer is served.
    EXPECT_TRUE(gets_correct_answers(*resident, id)) << "after batch " << batches;
  }
  EXPECT_TRUE(writes_refused) << "the node kept a connection whose peer never reads, after "
                              << batches * kBatch << " replies of " << kReplyPadding << " bytes";

  EXPECT_TRUE(testing::eventually([&] { return server->stats().open_connections == 1; }));
  EXPECT_TRUE(gets_correct_answers(*resident, id));
}

}  // namespace
}  // namespace datafold::net
