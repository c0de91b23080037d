// DhtDiscovery's state, shared by dht_discovery.cpp (life cycle, publishing,
// stats) and dht_lookups.cpp (lookups). Everything below "io thread only" is
// touched only on `thread`, so it needs no lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <opendht/dhtrunner.h>
#include <opendht/infohash.h>

#include "core/endpoint.hpp"
#include "discovery/dht/counting_socket.hpp"
#include "discovery/dht/dht_discovery.hpp"
#include "discovery/dht/dht_keys.hpp"

namespace datafold::net::discovery {

// The OpenDHT key a DhtKey stands for.
inline dht::InfoHash info_hash(const DhtKey& key) { return dht::InfoHash(key.data(), key.size()); }

struct DhtLookup {
  enum class Kind : std::uint8_t { Node, Network, Inspect };

  DhtLookup(asio::io_context& io, Kind kind, DhtKeyRef key_ref, dht::InfoHash key)
      : kind(kind), key_ref(std::move(key_ref)), key(key), deadline_timer(io), retry_timer(io) {}

  Kind kind;
  DhtKeyRef key_ref;
  dht::InfoHash key;
  std::chrono::steady_clock::time_point deadline{};
  std::chrono::milliseconds deadline_span{0};
  asio::steady_timer deadline_timer;
  asio::steady_timer retry_timer;
  std::chrono::milliseconds backoff{0};
  bool searching = false;
  std::unordered_set<std::string> values;  // distinct data read, each at most kMaxDhtValueBytes + 1 bytes

  DhtDiscovery::LookupHandler on_node;
  DhtDiscovery::NodesHandler on_nodes;
  DhtDiscovery::InspectHandler on_inspect;
};

struct DhtDiscovery::Impl {
  Impl(DhtConfig config, std::vector<detail::HostPort> bootstrap, std::unique_ptr<CountingSocket> socket,
       std::shared_ptr<DatagramCounts> counts);

  // --- set at creation, read anywhere
  const DhtConfig config;
  const std::vector<detail::HostPort> bootstrap;
  const dht::InfoHash node_key;
  const dht::InfoHash network_key;
  const Uuid instance_id;
  const std::uint32_t ttl_seconds;
  const std::shared_ptr<DatagramCounts> counts;
  std::uint16_t bound_port = 0;

  // --- life cycle, under state_mutex
  enum class State : std::uint8_t { Created, Running, Stopped };
  mutable std::mutex state_mutex;
  State state = State::Created;
  std::unique_ptr<CountingSocket> socket;  // until start() hands it to the runner
  // Declared after io: destroyed first, so nothing it calls back can reach a
  // destroyed io_context. Joined by stop() before that anyway.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  std::thread::id io_thread_id;  // set once by create(), before anyone else sees it
  // Held through a whole stop() (except on the io thread itself), so a second
  // caller returns only once the first has finished.
  std::mutex stop_mutex;
  std::unique_ptr<dht::DhtRunner> runner;

  // --- what stats() reports, under stats_mutex
  mutable std::mutex stats_mutex;
  DhtStats stats;

  // --- io thread only
  bool stopping = false;
  DhtValueChecker checker;
  std::optional<AnnouncementFields> announcement;  // what publish() was given
  bool started = false;
  std::uint64_t sequence = 0;
  std::optional<std::uint64_t> published_id;  // dht::Value::Id of our current value
  asio::steady_timer republish_timer;
  std::uint64_t next_lookup = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<DhtLookup>> lookups;

  std::int64_t wall_now() const;
  // Runs `fn` on the io thread (later, never inline); callable from any thread.
  template <class Fn>
  void post(Fn&& fn) {
    asio::post(io, std::forward<Fn>(fn));
  }

  // Publishing (dht_discovery.cpp), io thread.
  void publish_now();
  void arm_republish();

  // Lookups (dht_lookups.cpp). submit() from any thread, the rest on the io thread.
  void submit(std::shared_ptr<DhtLookup> lookup, std::chrono::milliseconds deadline);
  void begin(std::shared_ptr<DhtLookup> lookup, std::chrono::milliseconds deadline);
  void search(std::uint64_t id);
  void on_values(std::uint64_t id, std::vector<std::string> values);
  void on_search_done(std::uint64_t id);
  bool has_answer(const DhtLookup& lookup) const;
  void finish(std::uint64_t id);
  void finish_all(const std::string& why);
  // Checks what the lookup read and calls its handler; `why` explains a failure
  // that is not the deadline ("stopped", "not started").
  void complete(DhtLookup& lookup, const std::string& why);
};

}  // namespace datafold::net::discovery
