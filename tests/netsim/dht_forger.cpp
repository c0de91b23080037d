// netsim_dht_forger: a hostile DHT participant for the wide-area netsim tests.
// It joins the nodes' DHT as a plain OpenDHT node (anyone can) and writes what an
// attacker would: announcements that claim another node's id, replays of a
// genuine announcement, garbage. Test-only; it never runs outside a test's
// namespaces, and contacts only the bootstrap address it is given.
//
//   netsim_dht_forger fetch  --bootstrap H:P --node ID --out FILE
//       Saves every genuine announcement of node ID found under its DHT key (one
//       hex line each); exit 0 if at least one, 3 if none before the deadline.
//   netsim_dht_forger forge  --bootstrap H:P --network NAME --victim ID --claim IP:PORT
//       Puts forgeries under the victim's key and the network's key (see forgeries()),
//       then reads them back; prints a JSON report; exit 0 if every put was stored
//       and read back.
//   netsim_dht_forger replay --bootstrap H:P --network NAME --victim ID --in FILE
//       Puts the saved genuine announcements again under both keys; same report.
//
// Common: --port N (UDP port of its own DHT node, default 4222), --timeout-ms T
// (deadline of the whole run, default 20000).
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <opendht.h>

#include "core/encoding.hpp"
#include "datafold.pb.h"
#include "datafold/net/identity.hpp"
#include "datafold/net/json.hpp"
#include "datafold/net/node_id.hpp"
#include "datafold/net/uuid.hpp"
#include "discovery/announcement.hpp"
#include "netsim/dht_forger_format.hpp"

namespace {

using namespace datafold::net;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode, bootstrap, network, node, victim, claim, file;
  int port = 4222;
  std::chrono::milliseconds timeout{20000};
};

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_bytes(std::size_t n) {
  std::random_device rd;
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rd() & 0xff);
  return out;
}

// A SignedAnnouncement built field by field, so it can say what the library's
// encoder never would (an id that is not the hash of the key).
std::string announcement(const std::string& node_id_bytes, const std::string& public_key_bytes,
                         const std::string& address, const std::string& network, std::int64_t timestamp_ms,
                         const Identity& signer) {
  datafold::wire::NodeAnnouncement a;
  a.set_node_id(node_id_bytes);
  a.set_public_key(public_key_bytes);
  a.set_tcp_port(9000);
  a.add_addresses(address);
  a.mutable_capabilities()->set_supports_query(true);
  a.mutable_capabilities()->set_supports_schema_listing(true);
  a.set_min_version(1);
  a.set_max_version(1);
  a.set_network_name(network);
  const auto instance = Uuid::random().bytes();
  a.set_instance_id(std::string(instance.begin(), instance.end()));
  a.set_sequence(1);
  a.set_timestamp_ms(timestamp_ms);
  a.set_ttl_seconds(600);
  const std::string body = a.SerializeAsString();
  const auto signature =
      signer.sign(std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
  datafold::wire::SignedAnnouncement s;
  s.set_announcement(body);
  s.set_signature(std::string(signature.begin(), signature.end()));
  return s.SerializeAsString();
}

std::string bytes_of(const std::array<std::uint8_t, 32>& a) { return std::string(a.begin(), a.end()); }

// Everything `forge` writes, by name. Each must be ignored by every node: none is
// a valid announcement of the network by the node it names.
std::map<std::string, std::string> forgeries(const Options& o, const Identity& me, const NodeId& victim,
                                             const std::string& phantom_id) {
  std::map<std::string, std::string> out;
  const std::string my_key = bytes_of(me.public_key().bytes());
  // The victim's id, the forger's key, signed by the forger: id != SHA-256(key).
  out["claims_victim_id"] = announcement(bytes_of(victim.bytes()), my_key, o.claim, o.network, unix_ms(), me);
  // A node that does not exist: an id no key hashes to.
  out["phantom_node"] = announcement(phantom_id, my_key, o.claim, o.network, unix_ms(), me);
  // The forger's own, valid identity, but a network of another name.
  discovery::AnnouncementFields own;
  own.tcp_port = 9000;
  own.addresses = {o.claim};
  own.network_name = o.network + "-elsewhere";
  own.instance_id = Uuid::random();
  own.sequence = 1;
  own.timestamp_ms = unix_ms();
  own.ttl_seconds = 600;
  out["foreign_network"] = discovery::sign_announcement(own, me);
  // Its own identity and the right network, but written an hour ago.
  own.network_name = o.network;
  own.timestamp_ms = unix_ms() - 3'600'000;
  out["stale_timestamp"] = discovery::sign_announcement(own, me);
  // Its own valid announcement with a LAN datagram header in front: not a value.
  own.timestamp_ms = unix_ms();
  out["datagram_framed"] = discovery::encode_datagram(own, me);
  out["garbage"] = random_bytes(300);
  out["oversize"] = random_bytes(discovery::kMaxDatagramBytes * 4);
  return out;
}

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
          for (const auto& v : values) state->values.push_back(datafold::net::testing::forger::value_bytes(*v));
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
    runner_.put(key, datafold::net::testing::forger::make_value(bytes), [state](bool ok) {
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
    for (const auto& bytes : dht.get(datafold::net::testing::forger::node_key(o.node), deadline)) {
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

// Puts each value under the victim's key and the network's key, then reads both
// keys back until every value is there (or the deadline).
int put_all(const Options& o, const std::map<std::string, std::string>& values, Json report) {
  const auto deadline = Clock::now() + o.timeout;
  Dht dht(o);
  if (!dht.connected_by(deadline)) return std::cerr << "no DHT connection\n", 3;
  const std::vector<std::pair<std::string, dht::InfoHash>> keys = {
      {"victim", datafold::net::testing::forger::node_key(o.victim)},
      {"network", datafold::net::testing::forger::network_key(o.network)}};
  int stored = 0, total = 0;
  for (const auto& [name, bytes] : values)
    for (const auto& [key_name, key] : keys) {
      ++total;
      if (dht.put(key, bytes, deadline)) ++stored;
      else report["not_stored"].push_back(name + " under " + key_name);
    }
  bool all_seen = false;
  while (!all_seen && Clock::now() < deadline) {
    all_seen = true;
    for (const auto& [key_name, key] : keys) {
      const auto found = dht.get(key, deadline);
      int seen = 0;
      for (const auto& [name, bytes] : values)
        if (std::find(found.begin(), found.end(), bytes) != found.end()) ++seen;
      report["read_back"][key_name] = seen;
      all_seen = all_seen && seen == static_cast<int>(values.size());
    }
    if (!all_seen) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  report["stored"] = stored;
  report["puts"] = total;
  for (const auto& [name, bytes] : values) report["values"].push_back(name);
  std::cout << report.dump() << std::endl;
  return stored == total && all_seen ? 0 : 4;
}

int forge(const Options& o) {
  const auto victim = NodeId::from_string(o.victim);
  if (!victim || o.claim.empty() || o.network.empty()) return std::cerr << "need --victim, --claim, --network\n", 2;
  auto me = Identity::generate();
  if (!me) return std::cerr << "no identity\n", 2;
  const std::string phantom = random_bytes(32);
  const auto phantom_id = NodeId::from_bytes(std::span(reinterpret_cast<const std::uint8_t*>(phantom.data()), 32));
  Json report{{"forger_id", me->node_id().to_string()}, {"phantom_id", phantom_id->to_string()}};
  return put_all(o, forgeries(o, *me, *victim, phantom), report);
}

int replay(const Options& o) {
  std::ifstream in(o.file);
  std::map<std::string, std::string> values;
  for (std::string line; std::getline(in, line);)
    if (auto bytes = detail::hex_decode(line))
      values["replay_" + std::to_string(values.size())] = std::string(bytes->begin(), bytes->end());
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
    else if (flag == "--out" || flag == "--in") o.file = value;
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
