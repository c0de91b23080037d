// The chaos test's steady, bounded query load: one thread per host asks that host,
// through its HTTP API, to query the other hosts in turn, one query every `period`
// at most, until `until`. Every query is counted in the tally as issued before it is
// sent and exactly once more when it ends.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "netsim/chaos_fault_log.hpp"
#include "netsim/chaos_tally.hpp"
#include "netsim/node_process.hpp"

namespace datafold::net::testing {

struct LoadPlan {
  std::chrono::milliseconds period{200};
  FaultLog::Clock::time_point until;
  // Well above the node's own worst case for a query (connect + handshake + request
  // deadlines), so a reply that never comes is told apart from one that is slow.
  std::chrono::milliseconds http_timeout{75'000};
  // A host faulted this recently may still be unknown to, or unreachable for, the
  // others: a pair counts as healthy only if neither had a fault so near, and an
  // asker's silence is put down to its fault ("asker down") only if it had one so near.
  std::chrono::milliseconds settle{5'000};
};

class QueryLoad {
 public:
  // `nodes` and `ids` (each node's id) outlive the load; the nodes' processes may
  // be killed and restarted meanwhile, which is the point.
  QueryLoad(std::vector<LanNode>& nodes, const std::vector<std::string>& ids, const FaultLog& faults,
            QueryTally& tally, LoadPlan plan)
      : nodes_(nodes), ids_(ids), faults_(faults), tally_(tally), plan_(plan) {
    for (int asker = 0; asker < static_cast<int>(nodes_.size()); ++asker)
      threads_.emplace_back([this, asker](std::stop_token stop) { ask_in_turn(asker, stop); });
  }
  // Waits for every thread to finish its last query (at most one HTTP timeout after `until`).
  void finish() {
    for (auto& thread : threads_) thread.join();
  }

 private:
  void ask_in_turn(int asker, std::stop_token stop) {
    using Clock = FaultLog::Clock;
    const int hosts = static_cast<int>(nodes_.size());
    const auto max_rounds = (plan_.until - Clock::now()) / plan_.period + 1;
    auto next = Clock::now();
    for (long round = 0; round < max_rounds && !stop.stop_requested() && Clock::now() < plan_.until; ++round) {
      const int target = (asker + 1 + static_cast<int>(round % (hosts - 1))) % hosts;
      const Json body{{"node", ids_[target]}, {"schema", "UserProfile"}, {"fields", {"username"}}};
      tally_.issued();
      const auto began = Clock::now();
      const auto exchange = nodes_[asker].post_query(body, plan_.http_timeout);
      const auto ended = Clock::now();
      const bool asker_faulted = faults_.faulted_during(asker, began - plan_.settle, ended);
      const bool target_faulted = faults_.faulted_during(target, began - plan_.settle, ended);
      tally_.ended(outcome_of(exchange, asker_faulted),
                   !asker_faulted && !target_faulted && faults_.any_fault_during(began, ended),
                   "host " + std::to_string(asker) + " -> " + std::to_string(target) + ", " +
                       std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(ended - began).count()) +
                       " ms: ");
      // No catching up after a slow query: the load stays steady rather than bursting.
      next = std::max(next + plan_.period, Clock::now());
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, stop, next, [] { return false; });
    }
  }

  std::vector<LanNode>& nodes_;
  const std::vector<std::string>& ids_;
  const FaultLog& faults_;
  QueryTally& tally_;
  const LoadPlan plan_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  // Destroying the load stops it: each std::jthread is asked to stop, which ends its
  // wait at once, and is joined once its query in hand is back (one HTTP timeout at most).
  std::vector<std::jthread> threads_;
};

}  // namespace datafold::net::testing
