// One client connection of `datafold bench`: its own NetworkCore (a throwaway in-memory
// identity, dial-out only, one handler thread, and its I/O on threads it shares with the
// run's other clients, or on one of its own) connected to the target, keeping a fixed
// number of queries in flight until a deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <datafold/net/network_core.hpp>

#include "load/latency_recorder.hpp"

namespace datafold::app {

using BenchClock = std::chrono::steady_clock;

struct LoadClientOptions {
  std::string target;  // "host:port"
  std::string network_name;
  std::size_t in_flight = 1;
  // Bounds connecting, the handshake and every query, so a run always ends.
  std::chrono::milliseconds timeout{5000};
  // The I/O threads the clients of a run share, as the floors' clients share theirs;
  // null: a thread of the client's own.
  std::shared_ptr<net::IoThreads> io;
};

// Says whether a reply is the one expected; a reply it rejects counts as an error.
using ReplyCheck = std::function<bool(const net::QueryResult&)>;

class LoadClient {
 public:
  // Starts the client's node and connects it to options.target (blocking, bounded by
  // options.timeout). `query` is what every request asks.
  static net::NetworkResult<std::unique_ptr<LoadClient>> connect(const LoadClientOptions& options,
                                                                 net::Query query, ReplyCheck check);
  ~LoadClient();
  LoadClient(const LoadClient&) = delete;
  LoadClient& operator=(const LoadClient&) = delete;

  // One blocking query outside any measurement, to see what the target answers.
  net::NetworkResult<net::QueryResult> query_once();
  const net::PublicKey& public_key() const { return core_.public_key(); }

  // Issues in_flight queries now, and on each reply the next one, until `deadline`.
  // Replies arriving within [measure_from, deadline] are timed; earlier ones warm up.
  void start(BenchClock::time_point measure_from, BenchClock::time_point deadline);
  // Blocks until no query is outstanding or `until` passes; true if none is.
  bool wait_idle(BenchClock::time_point until);
  // Stops the node; a query still outstanding fails and counts as an error.
  // The results below are complete (and safe to read) once this returns.
  void stop();

  const bench::LatencyRecorder& latencies() const;
  // Queries answered as expected so far, timed or not; safe to read while it runs.
  std::uint64_t answered() const;
  std::uint64_t errors() const;
  std::string first_error() const;

 private:
  struct Tally;
  LoadClient(net::NetworkCore core, net::NodeId target, std::shared_ptr<Tally> tally);
  static void issue(const std::shared_ptr<Tally>& tally);
  static void on_reply(const std::shared_ptr<Tally>& tally, BenchClock::time_point sent,
                       net::NetworkResult<net::QueryResult> reply);

  net::NetworkCore core_;
  net::NodeId target_;
  std::shared_ptr<Tally> tally_;
  bool stopped_ = false;
};

}  // namespace datafold::app
