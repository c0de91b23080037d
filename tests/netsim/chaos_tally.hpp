// What became of every query of the chaos load. Each issued query ends in exactly
// one bucket: answered, failed (by the error kind its asker reported, or "asker
// down" when the node asked was itself killed or cut off), or vanished — no reply
// at all from an asker that was up, which is the bug this test exists to catch.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "datafold/net/json.hpp"
#include "netsim/node_process.hpp"

namespace datafold::net::testing {

inline const std::string kAnswered = "answered";
inline const std::string kVanished = "vanished";
inline const std::string kAskerDown = "asker down";
// Prefix of the buckets for replies that are neither a proper answer nor a proper error.
inline const std::string kMalformed = "malformed: ";

struct Outcome {
  std::string bucket;
  std::string detail;  // the error's message, or why no reply came back
};

// The outcome of one POST /api/query for the field "username". `asker_faulted`: the
// node asked was down or cut off at some moment of the exchange.
inline Outcome outcome_of(const LanNode::HttpExchange& exchange, bool asker_faulted) {
  if (!exchange.status) return {asker_faulted ? kAskerDown : kVanished, exchange.transport_error};
  const std::string http = "HTTP " + std::to_string(*exchange.status);
  const auto body = Json::parse(exchange.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return {kMalformed + "unparseable body, " + http, exchange.body};
  if (body.contains("data")) {
    const auto& data = body["data"];
    const auto* results = data.is_object() && data.contains("results") ? &data["results"] : nullptr;
    const bool has_username = results && results->is_array() && results->size() == 1 && (*results)[0].is_object() &&
                              (*results)[0].value("field", "") == "username" && (*results)[0].contains("value");
    if (*exchange.status == 200 && has_username) return {kAnswered, ""};
    return {kMalformed + "data without the username, " + http, exchange.body};
  }
  if (body.contains("error")) {
    const auto& error = body["error"];
    const std::string message = error.is_string() ? error.get<std::string>() : error.dump();
    const auto& details = body.contains("details") ? body["details"] : Json();
    if (details.is_object() && details.contains("kind") && details["kind"].is_string())
      return {details["kind"].get<std::string>(), message};
    return {http, message};  // an error the node reported without a network error kind
  }
  return {kMalformed + "neither data nor error, " + http, exchange.body};
}

struct QueryCounts {
  int issued = 0;
  int answered = 0;
  int vanished = 0;
  std::map<std::string, int> failed;  // by bucket
  std::map<std::string, std::string> first_detail;  // of each failed bucket
  // Queries between two nodes with no fault of their own, run while another host had one.
  int healthy_pairs_asked_during_faults = 0;
  int healthy_pairs_answered_during_faults = 0;
  std::vector<std::string> vanished_examples;

  int failed_total() const {
    int total = 0;
    for (const auto& [bucket, count] : failed) total += count;
    return total;
  }
};

class QueryTally {
 public:
  void issued() {
    std::lock_guard lock(mutex_);
    counts_.issued++;
  }
  // `what` describes the query, kept for the report when it vanished.
  void ended(const Outcome& outcome, bool healthy_pair_during_faults, const std::string& what) {
    std::lock_guard lock(mutex_);
    const auto& bucket = outcome.bucket;
    if (bucket == kAnswered) {
      counts_.answered++;
    } else if (bucket == kVanished) {
      counts_.vanished++;
      if (counts_.vanished_examples.size() < kExamples) counts_.vanished_examples.push_back(what + outcome.detail);
    } else {
      counts_.failed[bucket]++;
      counts_.first_detail.try_emplace(bucket, outcome.detail);
    }
    if (healthy_pair_during_faults) {
      counts_.healthy_pairs_asked_during_faults++;
      if (bucket == kAnswered) counts_.healthy_pairs_answered_during_faults++;
    }
  }
  QueryCounts counts() const {
    std::lock_guard lock(mutex_);
    return counts_;
  }

 private:
  static constexpr std::size_t kExamples = 10;
  mutable std::mutex mutex_;
  QueryCounts counts_;
};

}  // namespace datafold::net::testing
