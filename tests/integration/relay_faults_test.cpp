// A relay that misbehaves (flips bytes, truncates, cuts) or dies under load: the ends
// of its circuits get errors, never wrong data, and every request ends. The "relay"
// here is a real one behind a FaultProxy: the hidden node reserves through the
// proxy, so its relayed address, and every byte of the circuit, go through it.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "support/fault_proxy.hpp"
#include "support/relay_nodes.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;

Query relay_one_field() {
  Query query;
  query.schema_name = "Anything";
  query.fields = {"name"};
  return query;
}

QueryResult answer(const Query& query) {
  QueryResult result;
  for (const auto& field : query.fields) result.results.push_back({field, Json("value-of-" + field)});
  return result;
}

bool is_the_answer(const QueryResult& result) {
  return result.results.size() == 1 && result.results[0].field == "name" &&
         std::holds_alternative<Json>(result.results[0].outcome) &&
         std::get<Json>(result.results[0].outcome) == Json("value-of-name");
}

NetworkConfig quiet_config() {
  auto config = loopback_config();
  config.hole_punching = false;  // loopback: a punch would bypass the relay under test
  return config;
}

struct Faulty {
  std::unique_ptr<NetworkCore> relay;
  std::unique_ptr<FaultProxy> proxy;
  std::unique_ptr<NetworkCore> hidden;
  std::unique_ptr<NetworkCore> caller;
};

Faulty faulty_relay() {
  Faulty f;
  auto relay_config = quiet_config();
  relay_config.relay = true;
  f.relay = start_node(relay_config);
  if (!f.relay) return f;
  f.proxy = FaultProxy::start(address_of(*f.relay));
  if (!f.proxy) return f;
  auto hidden_config = quiet_config();
  hidden_config.use_relays = NetworkConfig::RelayUse::Always;
  hidden_config.relays = {f.proxy->address()};
  f.hidden = start_node(hidden_config);
  if (!f.hidden) return f;
  f.hidden->set_query_callback([](Query q) { return answer(q); });
  const auto relayed = wait_for_relayed_address(*f.hidden);
  if (relayed.empty()) return f;
  f.caller = start_node(quiet_config());
  if (f.caller) know_only_at(*f.caller, *f.hidden, {relayed});
  return f;
}

// After the fault, each query either gets exactly the answer or fails with an error
// of the kinds a broken path gives; at least one fails.
void expect_errors_never_wrong_data(NetworkCore& caller, const NodeId& target, std::initializer_list<ErrorKind> kinds) {
  int failures = 0;
  for (int i = 0; i < 20 && failures < 3; ++i) {
    auto result = caller.query_node(target, relay_one_field());
    if (result.ok()) {
      EXPECT_TRUE(is_the_answer(*result)) << "wrong data through a faulty relay";
    } else {
      ++failures;
      EXPECT_NE(std::find(kinds.begin(), kinds.end(), result.error().kind), kinds.end()) << result.error().to_string();
    }
  }
  EXPECT_GT(failures, 0) << "the fault never showed";
}

TEST(RelayFaults, ARelayThatFlipsBytesGivesErrorsNeverWrongData) {
  auto f = faulty_relay();
  ASSERT_TRUE(f.caller);
  auto first = f.caller->query_node(f.hidden->local_node_id(), relay_one_field());
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_TRUE(is_the_answer(*first));
  // One direction only: both ends of the circuit pass through the proxy, and the same
  // byte flipped on the way in and again on the way out would come out whole.
  f.proxy->flip_every(FaultProxy::Direction::ToServer, 7);
  expect_errors_never_wrong_data(*f.caller, f.hidden->local_node_id(),
                                 {ErrorKind::Connection, ErrorKind::Authentication, ErrorKind::Protocol});
}

TEST(RelayFaults, ARelayThatCutsACircuitFailsItsRequestsAsConnectionErrors) {
  auto f = faulty_relay();
  ASSERT_TRUE(f.caller);
  ASSERT_TRUE(f.caller->query_node(f.hidden->local_node_id(), relay_one_field()).ok());
  f.proxy->cut_after(FaultProxy::Direction::Both, 10);
  expect_errors_never_wrong_data(*f.caller, f.hidden->local_node_id(), {ErrorKind::Connection});
}

TEST(RelayFaults, ARelayThatTruncatesACircuitEndsItsRequestsWithErrors) {
  auto f = faulty_relay();
  ASSERT_TRUE(f.caller);
  ASSERT_TRUE(f.caller->query_node(f.hidden->local_node_id(), relay_one_field()).ok());
  f.proxy->truncate_after(FaultProxy::Direction::Both, 10);
  // Nothing comes back: the request ends at its deadline (or the ping's), never hangs.
  auto result = f.caller->query_node(f.hidden->local_node_id(), relay_one_field());
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().kind == ErrorKind::Timeout || result.error().kind == ErrorKind::Connection)
      << result.error().to_string();
}

TEST(RelayFaults, ARelayKilledUnderLoadFailsItsRequestsAtOnceAndTheNodesGoOnThroughAnother) {
  auto relay_config = quiet_config();
  relay_config.relay = true;
  auto first_relay = start_node(relay_config);
  auto second_relay = start_node(relay_config);
  ASSERT_TRUE(first_relay && second_relay);
  auto hidden_config = quiet_config();
  hidden_config.use_relays = NetworkConfig::RelayUse::Always;
  hidden_config.relays = {address_of(*first_relay), address_of(*second_relay)};
  auto hidden = start_node(hidden_config);
  ASSERT_TRUE(hidden);
  hidden->set_query_callback([](Query q) {
    std::this_thread::sleep_for(2ms);  // keeps requests in flight when the relay dies
    return answer(q);
  });
  ASSERT_FALSE(wait_for_relayed_address(*hidden, 2).empty());
  auto report = hidden->reachability();
  ASSERT_EQ(report.relayed_addresses.size(), 2u);
  auto caller = start_node(quiet_config());
  ASSERT_TRUE(caller);
  know_only_at(*caller, *hidden, report.relayed_addresses);
  ASSERT_TRUE(caller->query_node(hidden->local_node_id(), relay_one_field()).ok());
  // The relay the caller went through (both are dialled, staggered, and the first
  // circuit up wins) is the one to kill; the other is where it must go on.
  const auto used = caller->known_nodes().at(hidden->local_node_id()).relayed_via;
  ASSERT_TRUE(used);
  const bool first_used = *used == first_relay->local_node_id();
  auto& doomed = first_used ? first_relay : second_relay;
  auto& survivor = first_used ? second_relay : first_relay;

  // A steady load, bounded in count and time; the relay in use dies in the middle of it.
  std::atomic<int> issued{0}, answered{0}, failed{0}, wrong{0}, other_errors{0};
  std::mutex mutex;
  std::condition_variable all_done;
  int outstanding = 0;
  const auto until = std::chrono::steady_clock::now() + 30s;
  bool killed = false;
  int answered_at_kill = 0;
  // A steady pace (one every 5 ms): the requests in flight on the dead circuit fail
  // at once, and the next one dials the relayed addresses again and gets through the
  // other relay (a cut circuit puts the peer in no redial backoff).
  while (issued < 4000 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
    {
      std::unique_lock lock(mutex);
      all_done.wait(lock, [&] { return outstanding < 16; });
      ++outstanding;
    }
    ++issued;
    caller->async_query_node(hidden->local_node_id(), relay_one_field(), [&](NetworkResult<QueryResult> result) {
      if (result.ok()) {
        (is_the_answer(*result) ? answered : wrong)++;
      } else {
        failed++;
        if (result.error().kind != ErrorKind::Connection && result.error().kind != ErrorKind::Timeout) other_errors++;
      }
      std::lock_guard lock(mutex);
      --outstanding;
      all_done.notify_all();
    });
    if (!killed && issued == 100) {
      ASSERT_TRUE(doomed->stop().ok());
      killed = true;
      answered_at_kill = answered;
    }
    if (killed && answered > answered_at_kill + 100) break;
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(all_done.wait_for(lock, 60s, [&] { return outstanding == 0; })) << "requests never ended";
  }
  EXPECT_EQ(issued, answered + failed + wrong);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(other_errors, 0);
  EXPECT_GT(answered, answered_at_kill + 100) << "the nodes did not go on through the other relay";
  // They go on through the second relay.
  auto after = caller->query_node(hidden->local_node_id(), relay_one_field());
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_EQ(*caller->known_nodes().at(hidden->local_node_id()).relayed_via, survivor->local_node_id());
  std::printf("relay killed under load: issued %d, answered %d, failed %d\n", issued.load(), answered.load(),
              failed.load());
}

}  // namespace
}  // namespace datafold::net::testing
