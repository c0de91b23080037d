// Nodes of one process on shared I/O threads (NetworkConfig::shared_io): they serve
// each other from the same thread, one stops or restarts without disturbing the
// others, their blocking calls refuse to run there, and the threads end once no node
// and no holder is left, even when the last holder lets go on one of them. Real
// nodes on loopback.
#include "datafold/net/io_threads.hpp"

#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <asio/post.hpp>
#include <gtest/gtest.h>

#include "datafold/net/network_core.hpp"
#include "node/io_threads_impl.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::eventually;
using testing::introduce;
using testing::start_node;

std::size_t threads_of_this_process() {
  // A sanitizer starts a thread of its own with the process's first thread: one thread
  // started and ended first keeps it out of the difference.
  static const bool warmed = [] {
    std::thread([] {}).join();
    return true;
  }();
  (void)warmed;
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++count;
  return count;
}

NetworkConfig on(const std::shared_ptr<IoThreads>& io) {
  auto config = testing::loopback_config();
  config.shared_io = io;
  return config;
}

Query a_query() { return Query{"S", {"f"}, "", 0, std::nullopt}; }

// Answers every query with the id of the thread it ran on.
void answer_with_thread(NetworkCore& node) {
  node.set_query_callback(
      [](Query query) {
        QueryResult result;
        const auto id = std::hash<std::thread::id>{}(std::this_thread::get_id());
        result.results.push_back(FieldResult{query.fields.at(0), Json(static_cast<std::uint64_t>(id))});
        return result;
      },
      RunOn::IoThread);
}

// `threads` shared I/O threads, a server answering with answer_with_thread, and
// `clients` nodes that know where it is, all on those threads.
struct SharedNodes {
  SharedNodes(std::size_t threads, std::size_t clients) {
    auto started = IoThreads::start(threads);
    if (!started) {
      ADD_FAILURE() << started.error().to_string();
      return;
    }
    io = *started;
    server = start_node(on(io));
    if (!server) return;
    answer_with_thread(*server);
    for (std::size_t i = 0; i < clients; ++i) {
      auto client = start_node(on(io));
      if (!client) return;
      introduce(*client, *server);
      this->clients.push_back(std::move(client));
    }
    ready = true;
  }

  std::shared_ptr<IoThreads> io;
  std::unique_ptr<NetworkCore> server;
  std::vector<std::unique_ptr<NetworkCore>> clients;
  bool ready = false;
};

TEST(SharedIoThreads, NodesOnOneThreadAnswerEachOtherFromIt) {
  SharedNodes nodes(1, 1);
  ASSERT_TRUE(nodes.ready);
  auto& server = nodes.server;
  auto& client = nodes.clients[0];

  std::promise<std::pair<NetworkResult<QueryResult>, std::size_t>> done;
  client->async_query_node(
      server->local_node_id(), a_query(),
      [&done](NetworkResult<QueryResult> reply) {
        done.set_value({std::move(reply), std::hash<std::thread::id>{}(std::this_thread::get_id())});
      },
      RunOn::IoThread);
  auto [reply, client_thread] = done.get_future().get();
  ASSERT_TRUE(reply) << reply.error().to_string();
  EXPECT_EQ(reply->find("f")->value(), Json(static_cast<std::uint64_t>(client_thread)))
      << "the server answered on the thread the client's reply came on: the one they share";
}

TEST(SharedIoThreads, OneNodeStopsAndRestartsWhileTheOthersGoOn) {
  SharedNodes nodes(2, 2);
  ASSERT_TRUE(nodes.ready);
  auto& server = nodes.server;
  auto& leaving = nodes.clients[0];
  auto& staying = nodes.clients[1];
  ASSERT_TRUE(leaving->query_node(server->local_node_id(), a_query()));
  ASSERT_TRUE(staying->query_node(server->local_node_id(), a_query()));
  ASSERT_EQ(server->stats().open_connections, 2u);

  ASSERT_TRUE(leaving->stop());
  EXPECT_TRUE(eventually([&] { return server->stats().open_connections == 1; }))
      << "the server saw the stopped node's connection close";
  auto reply = staying->query_node(server->local_node_id(), a_query());
  EXPECT_TRUE(reply) << "a node still running on the threads is answered: " << reply.error().to_string();

  // Started again, on the same threads: a new listener, new connections.
  ASSERT_TRUE(server->stop());
  // A query racing the stop would go out on the old connection and fail with it, as
  // it should: wait until the staying node has seen that connection close.
  EXPECT_TRUE(eventually([&] { return staying->stats().open_connections == 0; }))
      << "the staying node saw the stopped server's connection close";
  ASSERT_TRUE(server->start());
  introduce(*staying, *server);
  reply = staying->query_node(server->local_node_id(), a_query());
  EXPECT_TRUE(reply) << "the restarted node answers: " << reply.error().to_string();
}

TEST(SharedIoThreads, BlockingCallsRefuseToRunOnThem) {
  SharedNodes nodes(1, 2);
  ASSERT_TRUE(nodes.ready);
  auto& server = nodes.server;
  auto& client = nodes.clients[0];
  auto& other = nodes.clients[1];

  // From a completion on the shared thread, a blocking call of another node on the
  // same threads would wait for that very thread.
  std::promise<NetworkResult<QueryResult>> nested;
  client->async_query_node(
      server->local_node_id(), a_query(),
      [&](NetworkResult<QueryResult>) { nested.set_value(other->query_node(server->local_node_id(), a_query())); },
      RunOn::IoThread);
  auto outcome = nested.get_future().get();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().kind, ErrorKind::Config) << outcome.error().to_string();
}

TEST(SharedIoThreads, EndOnceNoNodeAndNoHolderIsLeft) {
  const auto before = threads_of_this_process();
  {
    SharedNodes nodes(2, 1);
    ASSERT_TRUE(nodes.ready);
    auto& server = nodes.server;
    auto& client = nodes.clients[0];
    nodes.io.reset();  // the nodes hold the threads while they run
    EXPECT_TRUE(client->query_node(server->local_node_id(), a_query()));
    ASSERT_TRUE(client->stop());
    ASSERT_TRUE(server->stop());
    // Stopped, they hold nothing: starting again finds the threads gone.
    auto restarted = server->start();
    ASSERT_FALSE(restarted);
    EXPECT_EQ(restarted.error().kind, ErrorKind::Config) << restarted.error().to_string();
  }
  EXPECT_TRUE(eventually([&] { return threads_of_this_process() == before; }))
      << threads_of_this_process() << " threads left; " << before << " before";
}

TEST(SharedIoThreads, EndWhenTheLastHolderLetsGoOnOneOfThem) {
  const auto before = threads_of_this_process();
  auto io = IoThreads::start(2);
  ASSERT_TRUE(io) << io.error().to_string();
  auto& context = (*io)->impl().io;
  // The only holder, destroyed by work running on one of the threads: that thread
  // cannot join itself. The work waits until post() has returned: post() still touches
  // the io_context after queueing it.
  std::promise<void> posted;
  asio::post(context, [held = std::move(*io), posted = posted.get_future()]() mutable {
    posted.wait();
    held.reset();
  });
  posted.set_value();
  EXPECT_TRUE(eventually([&] { return threads_of_this_process() == before; }))
      << threads_of_this_process() << " threads left; " << before << " before";
}

}  // namespace
}  // namespace datafold::net
