// A peer that dies mid-request: pending requests fail at once, not at their deadline.
#include "datafold/net/network_core.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <utility>

#include <gtest/gtest.h>

#include "support/child_process.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::start_node;

// A node in a child process whose query callback reports each call on a pipe and
// then never returns, so the parent's requests stay pending until the child dies.
struct ChildNode {
  pid_t pid = -1;
  int events_fd = -1;
  std::uint16_t port = 0;
  NodeId id;
  PublicKey key;

  bool read_exact(void* out, std::size_t n) const {
    auto* p = static_cast<char*>(out);
    while (n > 0) {
      const ssize_t got = ::read(events_fd, p, n);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<std::size_t>(got);
    }
    return true;
  }
};

ChildNode fork_stalling_node() {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  auto identity = *Identity::generate();
  const pid_t test_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    testing::die_with_test(test_pid);
    ::close(fds[0]);
    const int out = fds[1];
    auto config = testing::loopback_config();
    config.identity = identity;
    auto core = NetworkCore::create(config, NodeId{}, std::nullopt);
    if (!core || !core->start()) ::_exit(2);
    core->set_query_callback([out](Query) -> QueryResult {
      const char call = 'q';
      (void)!::write(out, &call, 1);
      for (;;) ::pause();
    });
    const std::uint16_t port = core->listen_port();
    (void)!::write(out, &port, sizeof port);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  ChildNode child;
  child.pid = pid;
  child.events_fd = fds[0];
  child.id = identity.node_id();
  child.key = identity.public_key();
  if (!child.read_exact(&child.port, sizeof child.port)) child.port = 0;
  return child;
}

TEST(PeerFailure, KilledPeerFailsEveryPendingRequestAtOnce) {
  // Fork before this process starts any thread of its own.
  ChildNode child = fork_stalling_node();
  ASSERT_GT(child.pid, 0);
  ASSERT_NE(child.port, 0) << "child node did not start";
  auto client_config = testing::loopback_config();
  client_config.request_timeout = std::chrono::minutes(5);  // far beyond the test's own deadline
  auto client = start_node(client_config);
  ASSERT_TRUE(client);

  NodeInfo info;
  info.node_id = child.id;
  info.public_key = child.key;
  info.address = "127.0.0.1:" + std::to_string(child.port);
  client->add_known_node(info);

  constexpr int kRequests = 20;
  std::vector<std::future<NetworkResult<QueryResult>>> replies;
  for (int i = 0; i < kRequests; ++i)
    replies.push_back(client->async_query_node(child.id, Query{"S", {"f"}, "", 0, std::nullopt}));
  // Wait until the child is inside its callback for at least one of them.
  char call = 0;
  ASSERT_TRUE(child.read_exact(&call, 1));
  ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
  int status = 0;
  ::waitpid(child.pid, &status, 0);
  ::close(child.events_fd);

  for (auto& reply : replies) {
    // Well under the 5-minute request timeout: the dead connection fails them.
    ASSERT_EQ(reply.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    auto r = reply.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::Connection) << r.error().to_string();
  }
  EXPECT_EQ(client->known_nodes().at(child.id).health, NodeHealth::Unreachable);
  EXPECT_TRUE(client->connected_nodes().empty());
  // The next request fails fast too: nothing listens there any more.
  auto after = client->query_node(child.id, Query{"S", {"f"}, "", 0, std::nullopt});
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().kind, ErrorKind::Connection);
}

TEST(PeerFailure, StoppingPeerAnswersWhatItIsHandlingAndRefusesNewRequests) {
  auto server = start_node();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  server->set_query_callback([&](Query q) {
    if (q.schema_name == "first") {  // only the first query is held; later ones answer at once
      entered.set_value();
      released.wait();
    }
    QueryResult r;
    r.results.push_back({"schema", Json(q.schema_name)});
    return r;
  });
  testing::introduce(*client, *server);
  auto in_progress = client->async_query_node(server->local_node_id(), Query{"first", {}, "", 0, std::nullopt});
  entered.get_future().wait();
  std::thread stopper([&] { EXPECT_TRUE(server->stop()); });
  // However the test ends, the held callback is let go and the stopper joined.
  struct Finish {
    std::promise<void>& release;
    std::thread& stopper;
    bool released = false;
    void let_go() {
      if (!std::exchange(released, true)) release.set_value();
    }
    ~Finish() {
      let_go();
      stopper.join();
    }
  } finish{release, stopper};

  // While the server drains, a new request is refused at once, not left waiting.
  EXPECT_TRUE(testing::eventually([&] {
    auto r = client->query_node(server->local_node_id(), Query{"late", {}, "", 0, std::nullopt});
    return !r && r.error().message.find("stopping") != std::string::npos;
  }));
  // The request the server was already handling still gets its real answer.
  finish.let_go();
  auto r = in_progress.get();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->find("schema")->value(), Json("first"));
  // And then the connection is gone.
  EXPECT_TRUE(testing::eventually([&] { return client->connected_nodes().empty(); }));
}

}  // namespace
}  // namespace datafold::net
