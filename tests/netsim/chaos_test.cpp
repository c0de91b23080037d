// Chaos: six hosts (network namespaces joined by a bridge, each running `datafold
// node`) under a steady query load for two minutes, while a fixed schedule kills,
// stops, restarts and cuts off nodes, twice with two faults at once. What a user
// must see: no query vanishes (each is answered or fails with a reason), no node
// dies unless the schedule killed it, a stopped node exits cleanly, every node that
// comes back is found again and answers, and the rest of the network kept serving.
#include "netsim/chaos_load.hpp"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace datafold::net::testing {
namespace {

using namespace std::chrono_literals;
using Clock = FaultLog::Clock;

constexpr int kChaosHosts = 6;
constexpr auto kLoadDuration = 120s;
// Far above a rejoin's normal time (an announcement interval or two), so only a node
// that is really not found again fails it.
constexpr auto kRejoinDeadline = 15s;

enum class Action { Kill, Terminate, Restart, Cut, Heal };

struct Step {
  std::chrono::seconds at;  // from the start of the load
  int host;
  Action action;
};

// Host 0 is never touched. Each comeback is followed by a quiet stretch in which its
// rejoin is watched; 3 and 4, then 5 and 1, are faulted at the same time.
constexpr Step kSchedule[] = {
    {8s, 1, Action::Kill},       {16s, 1, Action::Restart},
    {28s, 2, Action::Terminate}, {36s, 2, Action::Restart},
    {48s, 3, Action::Cut},       {54s, 4, Action::Kill},      {62s, 3, Action::Heal}, {68s, 4, Action::Restart},
    {80s, 5, Action::Cut},       {84s, 1, Action::Terminate}, {94s, 5, Action::Heal}, {98s, 1, Action::Restart},
};

std::string describe(const Step& step) {
  static constexpr const char* kNames[] = {"SIGKILL", "SIGTERM", "restart", "cut", "heal"};
  return std::string(kNames[static_cast<int>(step.action)]) + " host " + std::to_string(step.host) + " at " +
         std::to_string(step.at.count()) + " s";
}

long ms_between(Clock::time_point from, Clock::time_point to) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
}

// Polls every 100 ms until `condition` holds or `until` passes. Slower than
// eventually()'s 2 ms on purpose: each poll asks several nodes' APIs, and those
// nodes are what is under test.
bool poll_until(const std::function<bool()>& condition, Clock::time_point until) {
  while (Clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

// What the schedule did to one host and how the host took it.
struct HostRecord {
  int kills = 0;
  int terminations = 0;
  int cuts = 0;
  int comebacks = 0;
  std::vector<std::optional<int>> exit_codes;  // of each SIGTERM; nullopt: no clean exit
  std::vector<std::string> rejoins;            // one line per comeback
  int not_found_again = 0;
  int loss_unnoticed = 0;  // comebacks before which some other node still held it healthy
  std::string unexpected_death;  // when and the log's tail, if it died unbidden
  bool found_at_end = true;
  int answered_at_end = 0;       // queries to it, one from each other node, at the end
  std::optional<int> final_exit_code;
};

class NetsimChaos : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    lan_ = VirtualLan::create(kChaosHosts, why_not);
    if (!lan_) GTEST_SKIP() << "netsim needs Linux network namespaces: " << why_not;
    char pattern[] = "/tmp/datafold-chaos-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    options_.network = "chaos-" + std::to_string(::getpid());
    for (int i = 0; i < kChaosHosts; ++i) nodes_.emplace_back(*lan_, i, dir_ + "/host" + std::to_string(i), options_);
  }
  void TearDown() override {
    for (auto& node : nodes_) node.kill(SIGTERM);
    lan_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  bool reachable(int host) const { return up_[host] && linked_[host]; }
  // `who` lists `whom` and does not hold it unreachable.
  bool knows(int who, int whom) {
    const auto health = nodes_[who].health_of(ids_[whom]);
    return health && *health != "unreachable";
  }
  // `host` and every other reachable node know each other.
  bool rejoined(int host) {
    for (int peer = 0; peer < kChaosHosts; ++peer)
      if (peer != host && reachable(peer) && (!knows(peer, host) || !knows(host, peer))) return false;
    return true;
  }
  // No other reachable node still holds `host` as a healthy peer: its loss was noticed.
  bool lost_by_all(int host) {
    for (int peer = 0; peer < kChaosHosts; ++peer)
      if (peer != host && reachable(peer) && knows(peer, host)) return false;
    return true;
  }
  bool answers(int asker, int target) {
    const Json body{{"node", ids_[target]}, {"schema", "UserProfile"}, {"fields", {"username"}}};
    return outcome_of(nodes_[asker].post_query(body, LoadPlan{}.http_timeout), false).bucket == kAnswered;
  }

  // Notes every node that should be running but is not.
  void check_alive(const std::string& when) {
    for (int host = 0; host < kChaosHosts; ++host) {
      if (!up_[host] || nodes_[host].running()) continue;
      records_[host].unexpected_death = when + "; log tail:\n" + nodes_[host].log_tail();
      up_[host] = false;
    }
  }

  void run(const Step& step) {
    const int host = step.host;
    auto& record = records_[host];
    switch (step.action) {
      case Action::Kill:
        faults_.fault_began(host);
        nodes_[host].kill(SIGKILL);
        up_[host] = false;
        record.kills++;
        break;
      case Action::Terminate:
        faults_.fault_began(host);
        record.exit_codes.push_back(nodes_[host].stop_for_exit_code(SIGTERM, 15s));
        up_[host] = false;
        record.terminations++;
        break;
      case Action::Cut:
        faults_.fault_began(host);
        EXPECT_TRUE(lan_->set_link(host, false)) << describe(step);
        linked_[host] = false;
        record.cuts++;
        break;
      case Action::Restart: {
        const bool lost = lost_by_all(host);
        up_[host] = nodes_[host].start();
        EXPECT_TRUE(up_[host]) << describe(step) << " failed; log tail:\n" << nodes_[host].log_tail();
        if (up_[host]) {
          EXPECT_EQ(nodes_[host].node_id(), ids_[host]) << "same data dir, so the same identity";
          faults_.fault_ended(host);
        }
        watch_rejoin(step, lost);
        break;
      }
      case Action::Heal: {
        const bool lost = lost_by_all(host);
        EXPECT_TRUE(lan_->set_link(host, true)) << describe(step);
        linked_[host] = true;
        faults_.fault_ended(host);
        watch_rejoin(step, lost);
        break;
      }
    }
  }

  // `lost`: before it came back, the others had noticed it was gone, so "found again" means something.
  void watch_rejoin(const Step& step, bool lost) {
    auto& record = records_[step.host];
    record.comebacks++;
    if (!lost) record.loss_unnoticed++;
    const auto since = Clock::now();
    const bool found =
        reachable(step.host) && poll_until([&] { return rejoined(step.host); }, since + kRejoinDeadline);
    if (!found) record.not_found_again++;
    std::string line = describe(step);
    if (!lost) line += " (its loss went UNNOTICED)";
    const auto took = std::to_string(ms_between(since, Clock::now()));
    line += found ? ": found again by all reachable nodes after " + took + " ms"
                  : ": NOT found again within " + std::to_string(kRejoinDeadline.count()) + " s";
    record.rejoins.push_back(line);
  }

  // After the load: every node that came back is known to every other and answers
  // each of them. One deadline for all, so a broken network fails in seconds, not minutes.
  void check_comebacks() {
    const auto until = Clock::now() + kRejoinDeadline;
    for (int host = 0; host < kChaosHosts; ++host) {
      auto& record = records_[host];
      if (record.comebacks == 0) continue;
      record.found_at_end = up_[host] && poll_until([&] { return rejoined(host); }, until);
      for (int asker = 0; asker < kChaosHosts; ++asker)
        if (asker != host && up_[host] && up_[asker] && poll_until([&] { return answers(asker, host); }, until))
          record.answered_at_end++;
    }
  }

  void report(const QueryCounts& counts, long load_ms, long wall_ms) {
    std::ostringstream out;
    out << "[ chaos ] " << kChaosHosts << " hosts, " << std::size(kSchedule) << " scheduled faults, load " << load_ms
        << " ms, wall time " << wall_ms << " ms\n"
        << "[ chaos ] queries issued " << counts.issued << ": answered " << counts.answered << ", vanished "
        << counts.vanished << ", failed " << counts.failed_total() << '\n';
    for (const auto& [bucket, count] : counts.failed)
      out << "[ chaos ]   failed, " << bucket << ": " << count << " (first: " << counts.first_detail.at(bucket)
          << ")\n";
    for (const auto& example : counts.vanished_examples) out << "[ chaos ]   vanished: " << example << '\n';
    out << "[ chaos ] between healthy nodes while faults were on: " << counts.healthy_pairs_asked_during_faults
        << " asked, " << counts.healthy_pairs_answered_during_faults << " answered\n"
        << "[ chaos ] host kills sigterms(exit) cuts comebacks found-again(run) found-again(end) answered(end) "
           "exit(end)\n";
    for (int host = 0; host < kChaosHosts; ++host) {
      const auto& r = records_[host];
      std::string exits;
      for (const auto& code : r.exit_codes) exits += (exits.empty() ? "" : ",") + (code ? std::to_string(*code) : "-");
      out << "[ chaos ] " << std::setw(4) << host << std::setw(6) << r.kills << std::setw(9) << r.terminations << "("
          << exits << ")" << std::setw(5) << r.cuts << std::setw(10) << r.comebacks << std::setw(17)
          << (r.comebacks - r.not_found_again) << "/" << r.comebacks << std::setw(17)
          << (r.comebacks == 0 ? "-" : r.found_at_end ? "yes" : "NO") << std::setw(14)
          << (r.comebacks == 0 ? "-" : std::to_string(r.answered_at_end) + "/" + std::to_string(kChaosHosts - 1))
          << std::setw(10) << (r.final_exit_code ? std::to_string(*r.final_exit_code) : "-") << '\n';
      for (const auto& line : r.rejoins) out << "[ chaos ]        " << line << '\n';
      if (!r.unexpected_death.empty()) out << "[ chaos ]        DIED " << r.unexpected_death << '\n';
    }
    std::cout << out.str() << std::flush;
  }

  std::unique_ptr<VirtualLan> lan_;
  std::string dir_;
  LanNodeOptions options_;
  std::vector<LanNode> nodes_;
  std::vector<std::string> ids_;
  std::vector<bool> up_ = std::vector<bool>(kChaosHosts, true);
  std::vector<bool> linked_ = std::vector<bool>(kChaosHosts, true);
  std::vector<HostRecord> records_ = std::vector<HostRecord>(kChaosHosts);
  FaultLog faults_{kChaosHosts};
  QueryTally tally_;
};

TEST_F(NetsimChaos, UnderKillsRestartsAndCutsNoQueryVanishesAndEveryNodeComesBack) {
  const auto test_began = Clock::now();
  for (auto& node : nodes_) ASSERT_TRUE(node.start()) << node.log_tail();
  for (auto& node : nodes_) ids_.push_back(node.node_id().value_or(""));
  const auto all_know_each_other = [&] {
    for (int host = 0; host < kChaosHosts; ++host)
      if (!rejoined(host)) return false;
    return true;
  };
  ASSERT_TRUE(poll_until(all_know_each_other, Clock::now() + 20s))
      << "the hosts did not all find each other before the chaos began";

  const auto load_began = Clock::now();
  {
    QueryLoad load(nodes_, ids_, faults_, tally_, LoadPlan{.until = load_began + kLoadDuration});
    for (const auto& step : kSchedule) {
      // The schedule is by the clock; a step waits for the one before it to finish.
      std::this_thread::sleep_until(load_began + step.at);
      check_alive("before " + describe(step));
      run(step);
    }
    check_alive("after the last step");
    load.finish();
  }
  const auto load_ended = Clock::now();
  check_alive("after the load");
  check_comebacks();
  // Reputation is on (the default): what was done to the nodes (killed, restarted, cut
  // off) is not misbehaviour, so none of them ends avoided or banned by another.
  std::vector<std::string> penalised;
  for (int host = 0; host < kChaosHosts; ++host) {
    if (!up_[host]) continue;
    const auto reputation = nodes_[host].reputation();
    if (!reputation) {
      ADD_FAILURE() << "host " << host << " does not show its reputation";
      continue;
    }
    for (const auto& entry : reputation->value("entries", Json::array())) {
      const auto state = entry.value("state", std::string());
      if (state == "avoided" || state == "banned" || state == "would-be-banned")
        penalised.push_back("host " + std::to_string(host) + " holds " + entry.dump());
    }
  }
  EXPECT_TRUE(penalised.empty()) << ::testing::PrintToString(penalised);
  // A node worn by the chaos must still stop cleanly.
  for (int host = 0; host < kChaosHosts; ++host)
    if (up_[host]) records_[host].final_exit_code = nodes_[host].stop_for_exit_code(SIGTERM, 15s);

  const auto counts = tally_.counts();
  report(counts, ms_between(load_began, load_ended), ms_between(test_began, Clock::now()));

  EXPECT_EQ(counts.issued, counts.answered + counts.failed_total()) << "queries with no outcome";
  EXPECT_EQ(counts.vanished, 0) << "an asker that was up never replied";
  for (const auto& [bucket, count] : counts.failed)
    EXPECT_NE(bucket.rfind(kMalformed, 0), 0u) << count << " replies were " << bucket;
  EXPECT_GT(counts.failed_total(), 0) << "the faults never touched the load, so it tested nothing";
  EXPECT_GT(counts.healthy_pairs_answered_during_faults, 0) << "the healthy nodes stopped serving each other";
  for (int host = 0; host < kChaosHosts; ++host) {
    const auto& r = records_[host];
    EXPECT_EQ(r.unexpected_death, "") << "host " << host << " died without being killed";
    for (const auto& code : r.exit_codes) EXPECT_EQ(code, 0) << "host " << host << " after SIGTERM";
    EXPECT_EQ(r.final_exit_code, 0) << "host " << host << " did not stop cleanly at the end";
    EXPECT_EQ(r.loss_unnoticed, 0) << "host " << host << " was still held healthy by others while gone";
    EXPECT_EQ(r.not_found_again, 0) << "host " << host << " was not found again after a comeback";
    EXPECT_TRUE(r.found_at_end) << "host " << host << " is not known to every other node at the end";
    if (r.comebacks > 0) {
      EXPECT_EQ(r.answered_at_end, kChaosHosts - 1) << "host " << host << " does not answer every other node";
    }
  }
}

}  // namespace
}  // namespace datafold::net::testing
