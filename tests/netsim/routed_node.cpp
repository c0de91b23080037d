#include "netsim/routed_node.hpp"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

namespace datafold::net::testing {

RoutedNode::RoutedNode(RoutedNetwork& net, int host, std::string data_dir, std::string network)
    : net_(net), host_(host), data_dir_(std::move(data_dir)), network_(std::move(network)) {}

bool RoutedNode::start(const std::vector<std::string>& flags) {
  // The node's output goes to a log in its data dir, so the dir must exist first.
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  std::filesystem::permissions(data_dir_, std::filesystem::perms::owner_all, ec);
  // No gateway in a RoutedNetwork to map a port on (tests/netsim/port_mapping_test.cpp has one).
  std::vector<std::string> argv = {DATAFOLD_BINARY, "--data-dir", data_dir_, "node", "--sample", "--no-port-mapping",
                                   "--network", network_, "--http", RoutedNetwork::endpoint(net_.ip(host_), kHttpPort)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  {
    std::ofstream log(data_dir_ + "/node.log", std::ios::app);
    log << "---- start:";
    for (const auto& a : argv) log << ' ' << a;
    log << '\n';
  }
  pid_ = net_.spawn(host_, argv, data_dir_ + "/node.log");
  if (pid_ <= 0) return false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    if (!net_.processes().running(pid_)) return false;
    if (auto id = api().node_id()) {
      id_ = *id;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void RoutedNode::stop(int signal) {
  if (pid_ > 0) (void)net_.processes().stop(std::exchange(pid_, -1), signal, std::chrono::seconds(10));
}

bool RoutedNode::running() { return pid_ > 0 && net_.processes().running(pid_); }

std::string RoutedNode::tcp_endpoint(bool v6) const {
  return RoutedNetwork::endpoint(v6 ? net_.ipv6(host_) : net_.ipv4(host_), kTcpPort);
}

std::string RoutedNode::log_tail() const {
  std::ifstream in(data_dir_ + "/node.log");
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

std::vector<QueryPair> query_each(const std::vector<RoutedNode*>& from, const std::vector<RoutedNode*>& to,
                                  std::chrono::milliseconds deadline) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const auto until = started + deadline;
  std::vector<std::vector<QueryPair>> per_source(from.size());
  std::vector<std::thread> threads;
  for (std::size_t s = 0; s < from.size(); ++s) {
    threads.emplace_back([&, s] {
      const NodeApi api = from[s]->api();
      for (RoutedNode* target : to) {
        if (target == from[s]) continue;
        QueryPair pair;
        pair.from = from[s]->host();
        pair.to = target->host();
        while (Clock::now() < until) {
          ++pair.attempts;
          const auto asked = Clock::now();
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - asked);
          const auto reply = api.query(target->id(), "UserProfile", {"username"},
                                       std::max(left, std::chrono::milliseconds(1000)));
          if (query_answered(reply)) {
            pair.answered = true;
            pair.answer_took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked);
            pair.until_answered = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
            break;
          }
          pair.last_failure = reply.status ? std::to_string(*reply.status) + " " + reply.body : reply.transport_error;
          // A lookup can fail at once while the DHT does not hold the value yet:
          // ask again soon, without hammering the node.
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        per_source[s].push_back(pair);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<QueryPair> out;
  for (auto& list : per_source) out.insert(out.end(), list.begin(), list.end());
  return out;
}

std::string describe_failures(const std::vector<QueryPair>& pairs) {
  std::ostringstream out;
  for (const auto& p : pairs)
    if (!p.answered)
      out << "host " << p.from << " -> host " << p.to << " (" << p.attempts << " attempts): "
          << p.last_failure.substr(0, 300) << '\n';
  return out.str();
}

}  // namespace datafold::net::testing
