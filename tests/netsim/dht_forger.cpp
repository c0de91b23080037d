// netsim_dht_forger: a hostile DHT participant for the wide-area netsim tests.
// It joins the nodes' DHT as a plain OpenDHT node (anyone can) and writes what an
// attacker would: announcements that claim another node's id, replays of a
// genuine announcement, garbage. Test-only; it never runs outside a test's
// namespaces, and contacts only the bootstrap address it is given.
//
//   netsim_dht_forger fetch  --bootstrap H:P --node ID --out FILE
//       Saves every genuine announcement of node ID found under its DHT key (one
//       hex line each); exit 0 if at least one, 3 if none before the deadline.
//   netsim_dht_forger forge  --bootstrap H:P --network NAME --victim ID --claim IP:PORT [--genuine FILE]
//       Puts forgeries (dht_forgeries.hpp; with a file `fetch` wrote, also a tampered
//       copy of the victim's value) under the victim's key and the network's key,
//       then reads them back; prints a JSON report; exit 0 if every put was stored
//       and read back.
//   netsim_dht_forger replay --bootstrap H:P --network NAME --victim ID --in FILE
//       Puts the saved genuine announcements again under both keys; same report.
//
// Common: --port N (UDP port of its own DHT node, default 4222), --timeout-ms T
// (deadline of the whole run, default 20000).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <opendht.h>

#include "core/encoding.hpp"
#include "datafold/net/identity.hpp"
#include "datafold/net/json.hpp"
#include "datafold/net/node_id.hpp"
#include "discovery/announcement.hpp"
#include "netsim/dht_forger_format.hpp"
#include "netsim/dht_forgeries.hpp"

namespace {

using namespace datafold::net;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode, bootstrap, network, node, victim, claim, file;
  int port = 4222;
  std::chrono::milliseconds timeout{20000};
};

class Dht {
 public:
  explicit Dht(const Options& o) {
    dht::DhtRunner::Config config;
    config.threaded = true;
    config.peer_discovery = false;  // no multicast of OpenDHT's own
    runner_.run(static_cast<in_port_t>(o.port), config);
    const auto colon = o.bootstrap.rfind(':');
    std::string host = o.bootstrap.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);  // "[v6]:port"
    runner_.bootstrap(host, o.bootstrap.substr(colon + 1));
  }
  ~Dht() { runner_.join(); }

  bool connected_by(Clock::time_point deadline) {
    while (Clock::now() < deadline) {
      if (runner_.getNodesStats(AF_INET).good_nodes + runner_.getNodesStats(AF_INET6).good_nodes > 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Every value under `key`, or what came before the deadline.
  std::vector<std::string> get(const dht::InfoHash& key, Clock::time_point deadline) {
    auto state = std::make_shared<State>();
    runner_.get(
        key,
        [state](const std::vector<std::shared_ptr<dht::Value>>& values) {
          std::lock_guard lock(state->mutex);
          // What the nodes' lookups read: values of their type.
          for (const auto& v : values)
            if (testing::forger::is_node_value(*v))
              state->values.push_back(testing::forger::value_bytes(*v));
          return true;
        },
        [state](bool) {
          std::lock_guard lock(state->mutex);
          state->done = true;
          state->cv.notify_all();
        });
    std::unique_lock lock(state->mutex);
    state->cv.wait_until(lock, deadline, [&] { return state->done; });
    return state->values;
  }

  // True once the value is stored (the put's done callback said so) before the deadline.
  bool put(const dht::InfoHash& key, const std::string& bytes, Clock::time_point deadline) {
    auto state = std::make_shared<State>();
    runner_.put(key, testing::forger::make_value(bytes), [state](bool ok) {
      std::lock_guard lock(state->mutex);
      state->done = true;
      state->ok = ok;
      state->cv.notify_all();
    });
    std::unique_lock lock(state->mutex);
    state->cv.wait_until(lock, deadline, [&] { return state->done; });
    return state->done && state->ok;
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false, ok = false;
    std::vector<std::string> values;
  };
  dht::DhtRunner runner_;
};

int fetch(const Options& o) {
  const auto victim = NodeId::from_string(o.node);
  if (!victim) return std::cerr << "bad --node\n", 2;
  const auto deadline = Clock::now() + o.timeout;
  Dht dht(o);
  if (!dht.connected_by(deadline)) return std::cerr << "no DHT connection\n", 3;
  while (Clock::now() < deadline) {
    std::vector<std::string> genuine;
    for (const auto& bytes : dht.get(testing::forger::node_key(o.node), deadline)) {
      const auto parse = discovery::verify_signed_announcement(
          std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
      if (parse.ok() && parse.fields.node_id == *victim) genuine.push_back(bytes);
    }
    if (!genuine.empty()) {
      std::ofstream out(o.file, std::ios::trunc);
      for (const auto& g : genuine)
        out << detail::hex_encode(std::span(reinterpret_cast<const std::uint8_t*>(g.data()), g.size())) << '\n';
      std::cout << Json{{"genuine_values", genuine.size()}}.dump() << std::endl;
      return out ? 0 : 2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::cerr << "no genuine value of " << o.node << " before the deadline\n";
  return 3;
}

struct Value {
  std::string bytes;
  bool under_network_key = true;
};

// Puts each value under the victim's key (and the network's key if it says so),
// then reads the keys back until every value is there (or the deadline).
int put_all(const Options& o, const std::map<std::string, Value>& values, Json report) {
  const auto deadline = Clock::now() + o.timeout;
  Dht dht(o);
  if (!dht.connected_by(deadline)) return std::cerr << "no DHT connection\n", 3;
  const auto victim_key = testing::forger::node_key(o.victim);
  const auto network_key = testing::forger::network_key(o.network);
  int stored = 0, total = 0;
  for (const auto& [name, value] : values)
    for (const bool network : {false, true}) {
      if (network && !value.under_network_key) continue;
      ++total;
      if (dht.put(network ? network_key : victim_key, value.bytes, deadline)) ++stored;
      else report["not_stored"].push_back(name + (network ? " under the network key" : " under the victim key"));
    }
  bool all_seen = false;
  while (!all_seen && Clock::now() < deadline) {
    all_seen = true;
    for (const bool network : {false, true}) {
      const auto found = dht.get(network ? network_key : victim_key, deadline);
      int expected = 0, seen = 0;
      for (const auto& [name, value] : values) {
        if (network && !value.under_network_key) continue;
        ++expected;
        if (std::find(found.begin(), found.end(), value.bytes) != found.end()) ++seen;
      }
      report["read_back"][network ? "network" : "victim"] = seen;
      all_seen = all_seen && seen == expected;
    }
    if (!all_seen) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  report["stored"] = stored;
  report["puts"] = total;
  for (const auto& [name, value] : values) report["values"].push_back(name);
  std::cout << report.dump() << std::endl;
  return stored == total && all_seen ? 0 : 4;
}

std::vector<std::string> read_hex_lines(const std::string& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (auto bytes = detail::hex_decode(line)) out.emplace_back(bytes->begin(), bytes->end());
  return out;
}

int forge(const Options& o) {
  const auto victim = NodeId::from_string(o.victim);
  if (!victim || o.claim.empty() || o.network.empty()) return std::cerr << "need --victim, --claim, --network\n", 2;
  auto me = Identity::generate();
  auto phantom = Identity::generate();  // its id is used with another key: no key hashes to it
  if (!me || !phantom) return std::cerr << "no identity\n", 2;
  testing::ForgeryPlan plan{.forger = &*me, .victim = *victim, .network = o.network, .claim = o.claim,
                            .genuine = std::nullopt, .phantom = phantom->node_id()};
  if (!o.file.empty()) {
    const auto genuine = read_hex_lines(o.file);
    if (genuine.empty()) return std::cerr << "no genuine value in " << o.file << "\n", 2;
    plan.genuine = genuine.front();
  }
  std::map<std::string, Value> values;
  for (auto& [name, forgery] : testing::make_forgeries(plan))
    values[name] = {std::move(forgery.bytes), forgery.under_network_key};
  Json report{{"forger_id", me->node_id().to_string()}, {"phantom_id", phantom->node_id().to_string()}};
  return put_all(o, values, report);
}

int replay(const Options& o) {
  std::map<std::string, Value> values;
  for (auto& bytes : read_hex_lines(o.file)) values["replay_" + std::to_string(values.size())] = {std::move(bytes), true};
  if (values.empty() || o.network.empty() || o.victim.empty())
    return std::cerr << "need --in with saved values, --victim, --network\n", 2;
  return put_all(o, values, Json::object());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) return std::cerr << "usage: see the comment at the top of dht_forger.cpp\n", 2;
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--bootstrap") o.bootstrap = value;
    else if (flag == "--port") o.port = std::stoi(value);
    else if (flag == "--network") o.network = value;
    else if (flag == "--node") o.node = value;
    else if (flag == "--victim") o.victim = value;
    else if (flag == "--claim") o.claim = value;
    else if (flag == "--out" || flag == "--in" || flag == "--genuine") o.file = value;
    else if (flag == "--timeout-ms") o.timeout = std::chrono::milliseconds(std::stol(value));
    else return std::cerr << "unknown flag " << flag << '\n', 2;
  }
  if (o.bootstrap.find(':') == std::string::npos) return std::cerr << "need --bootstrap HOST:PORT\n", 2;
  if (o.mode == "fetch") return fetch(o);
  if (o.mode == "forge") return forge(o);
  if (o.mode == "replay") return replay(o);
  std::cerr << "mode: fetch, forge or replay\n";
  return 2;
}
