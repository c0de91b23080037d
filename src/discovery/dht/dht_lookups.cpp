// DhtDiscovery's lookups: lookup(), find_network_nodes(), inspect(). Each is a
// DhtLookup on the io thread: an OpenDHT get (repeated with backoff while it
// finds nothing useful), a deadline timer, and the values read so far.
#include <algorithm>
#include <exception>
#include <utility>

#include <opendht/value.h>
#include <spdlog/spdlog.h>

#include "discovery/dht/dht_discovery.hpp"
#include "discovery/dht/dht_discovery_impl.hpp"
#include "discovery/dht/dht_keys.hpp"

namespace datafold::net::discovery {

namespace {

// Bounds what one lookup holds whatever the DHT returns: at most this many
// values of at most kMaxDhtValueBytes + 1 bytes each (~8 MiB).
constexpr std::size_t kMaxValuesPerLookup = 1024;
// A search that found nothing useful is repeated after this, doubling up to kMaxRetry.
constexpr std::chrono::milliseconds kFirstRetry{250};
constexpr std::chrono::milliseconds kMaxRetry{4000};


std::chrono::system_clock::time_point as_time_point(std::int64_t unix_ms) {
  return std::chrono::system_clock::time_point{std::chrono::milliseconds{unix_ms}};
}

std::vector<DhtFoundNode> others(std::vector<DhtFoundNode> nodes, const NodeId& self) {
  std::erase_if(nodes, [&](const DhtFoundNode& n) { return n.info.node_id == self; });
  return nodes;
}

template <class Fn>
void call_handler(const char* what, Fn&& fn) {
  // A throwing handler must not take the io thread (and every later lookup) down.
  try {
    std::forward<Fn>(fn)();
  } catch (const std::exception& e) {
    spdlog::error("dht: {} handler threw: {}", what, e.what());
  } catch (...) {
    spdlog::error("dht: {} handler threw", what);
  }
}

}  // namespace

void DhtDiscovery::lookup(const NodeId& id, std::chrono::milliseconds deadline, LookupHandler done) {
  Impl& d = *impl_;
  auto l = std::make_shared<DhtLookup>(d.io, DhtLookup::Kind::Node, DhtKeyRef::node(id), info_hash(dht_node_key(id)));
  l->on_node = std::move(done);
  {
    const std::lock_guard lock(d.stats_mutex);
    ++d.stats.lookups;
  }
  d.submit(std::move(l), deadline);
}

void DhtDiscovery::find_network_nodes(std::chrono::milliseconds deadline, NodesHandler done) {
  Impl& d = *impl_;
  auto l = std::make_shared<DhtLookup>(d.io, DhtLookup::Kind::Network, DhtKeyRef::network(), d.network_key);
  l->on_nodes = std::move(done);
  {
    const std::lock_guard lock(d.stats_mutex);
    ++d.stats.network_queries;
  }
  d.submit(std::move(l), deadline);
}

void DhtDiscovery::inspect(const NodeId& id, std::chrono::milliseconds deadline, InspectHandler done) {
  Impl& d = *impl_;
  auto l = std::make_shared<DhtLookup>(d.io, DhtLookup::Kind::Inspect, DhtKeyRef::node(id), info_hash(dht_node_key(id)));
  l->on_inspect = std::move(done);
  {
    const std::lock_guard lock(d.stats_mutex);
    ++d.stats.inspections;
  }
  d.submit(std::move(l), deadline);
}

void DhtDiscovery::Impl::submit(std::shared_ptr<DhtLookup> l, std::chrono::milliseconds deadline) {
  std::unique_lock lock(state_mutex);
  if (state == State::Running) {
    post([this, l = std::move(l), deadline] { begin(l, deadline); });
    return;
  }
  const bool stopped = state == State::Stopped;
  lock.unlock();
  if (stopped) {
    // No thread is left to call it from.
    complete(*l, "stopped");
  } else {
    post([this, l = std::move(l)] { complete(*l, "not started"); });
  }
}

void DhtDiscovery::Impl::begin(std::shared_ptr<DhtLookup> l, std::chrono::milliseconds deadline) {
  if (stopping) {
    complete(*l, "stopped");
    return;
  }
  const std::uint64_t id = next_lookup++;
  l->deadline_span = deadline;
  l->deadline = std::chrono::steady_clock::now() + deadline;
  l->backoff = kFirstRetry;
  l->deadline_timer.expires_at(l->deadline);
  l->deadline_timer.async_wait([this, id](std::error_code ec) {
    if (!ec) finish(id);
  });
  lookups.emplace(id, std::move(l));
  search(id);
}

void DhtDiscovery::Impl::search(std::uint64_t id) {
  const auto it = lookups.find(id);
  if (it == lookups.end()) return;
  DhtLookup& l = *it->second;
  l.searching = true;
  {
    const std::lock_guard lock(stats_mutex);
    ++stats.searches;
  }
  // On OpenDHT's thread: copy the data (capped: larger is oversize whatever the
  // rest holds) and hand it to the io thread, where it is checked.
  dht::GetCallback on_values_read = [this, id](const std::vector<std::shared_ptr<dht::Value>>& values) {
    std::vector<std::string> copies;
    copies.reserve(values.size());
    for (const auto& v : values) {
      const std::size_t n = std::min(v->data.size(), kMaxDhtValueBytes + 1);
      copies.emplace_back(v->data.begin(), v->data.begin() + static_cast<std::ptrdiff_t>(n));
    }
    post([this, id, copies = std::move(copies)]() mutable { on_values(id, std::move(copies)); });
    return true;
  };
  dht::DoneCallback on_done = [this, id](bool, const std::vector<std::shared_ptr<dht::Node>>&) {
    post([this, id] { on_search_done(id); });
  };
  dht::Value::Filter ours = [](const dht::Value& v) {
    return v.type == kDhtValueType && v.user_type == kDhtUserType;
  };
  runner->get(l.key, std::move(on_values_read), std::move(on_done), std::move(ours));
}

void DhtDiscovery::Impl::on_values(std::uint64_t id, std::vector<std::string> values) {
  const auto it = lookups.find(id);
  if (it == lookups.end()) return;
  DhtLookup& l = *it->second;
  std::uint64_t dropped = 0;
  for (auto& v : values) {
    if (l.values.contains(v)) continue;
    if (l.values.size() >= kMaxValuesPerLookup) {
      ++dropped;
      continue;
    }
    l.values.insert(std::move(v));
  }
  if (dropped != 0) {
    const std::lock_guard lock(stats_mutex);
    stats.values_dropped += dropped;
  }
}

bool DhtDiscovery::Impl::has_answer(const DhtLookup& l) const {
  if (l.kind == DhtLookup::Kind::Inspect) return !l.values.empty();
  const std::int64_t now_ms = wall_now();
  const std::vector<std::string> values(l.values.begin(), l.values.end());
  auto nodes = found_nodes(checker.classify(values, l.key_ref, now_ms), as_time_point(now_ms));
  if (l.kind == DhtLookup::Kind::Network) nodes = others(std::move(nodes), config.identity.node_id());
  return !nodes.empty();
}

void DhtDiscovery::Impl::on_search_done(std::uint64_t id) {
  const auto it = lookups.find(id);
  if (it == lookups.end()) return;
  DhtLookup& l = *it->second;
  l.searching = false;
  if (has_answer(l)) {
    finish(id);
    return;
  }
  // Nothing useful yet (not joined, or the value not stored yet): search again,
  // unless the deadline comes first.
  if (stopping || std::chrono::steady_clock::now() + l.backoff >= l.deadline) return;
  l.retry_timer.expires_after(l.backoff);
  l.backoff = std::min(2 * l.backoff, kMaxRetry);
  l.retry_timer.async_wait([this, id](std::error_code ec) {
    if (!ec && !stopping) search(id);
  });
}

void DhtDiscovery::Impl::finish(std::uint64_t id) {
  const auto it = lookups.find(id);
  if (it == lookups.end()) return;
  const std::shared_ptr<DhtLookup> l = std::move(it->second);
  lookups.erase(it);
  l->deadline_timer.cancel();
  l->retry_timer.cancel();
  complete(*l, "");
}

void DhtDiscovery::Impl::finish_all(const std::string& why) {
  stopping = true;
  republish_timer.cancel();
  auto pending = std::move(lookups);
  lookups.clear();
  for (auto& [id, l] : pending) {
    l->deadline_timer.cancel();
    l->retry_timer.cancel();
    complete(*l, why);
  }
}

void DhtDiscovery::Impl::complete(DhtLookup& l, const std::string& why) {
  const std::int64_t now_ms = wall_now();
  const auto read_at = as_time_point(now_ms);
  const std::vector<std::string> values(l.values.begin(), l.values.end());

  if (l.kind == DhtLookup::Kind::Inspect) {
    std::vector<DhtValueReport> reports;
    for (auto& c : checker.classify(values, l.key_ref, now_ms)) {
      DhtValueReport r;
      r.verdict = c.verdict;
      r.verified = is_verified(c.verdict);
      if (!r.verified) r.why_not = std::string(to_string(c.verdict));
      if (c.fields) r.age = std::chrono::milliseconds{now_ms - c.fields->timestamp_ms};
      r.fields = std::move(c.fields);
      r.bytes = c.bytes;
      reports.push_back(std::move(r));
    }
    // The value a lookup would use first, then the rest, newest first.
    std::stable_sort(reports.begin(), reports.end(), [](const DhtValueReport& a, const DhtValueReport& b) {
      if ((a.verdict == DhtVerdict::Accepted) != (b.verdict == DhtVerdict::Accepted))
        return a.verdict == DhtVerdict::Accepted;
      if (a.fields.has_value() != b.fields.has_value()) return a.fields.has_value();
      return a.fields && a.fields->timestamp_ms > b.fields->timestamp_ms;
    });
    call_handler("inspect", [&] { l.on_inspect(std::move(reports)); });
    return;
  }

  std::vector<DhtFoundNode> nodes;
  if (!values.empty()) {
    nodes = found_nodes(checker.check(values, l.key_ref, now_ms), read_at);
    const std::lock_guard lock(stats_mutex);
    stats.values = checker.counters();
  }

  if (l.kind == DhtLookup::Kind::Network) {
    nodes = others(std::move(nodes), config.identity.node_id());
    call_handler("find_network_nodes", [&] { l.on_nodes(std::move(nodes)); });
    return;
  }

  if (!nodes.empty()) {
    {
      const std::lock_guard lock(stats_mutex);
      ++stats.lookups_found;
    }
    call_handler("lookup", [&] { l.on_node(std::move(nodes.front())); });
    return;
  }
  {
    const std::lock_guard lock(stats_mutex);
    ++stats.lookups_failed;
  }
  std::string message = "dht: node " + l.key_ref.node_id.short_string() + " not found";
  if (!why.empty()) {
    message += " (" + why + ")";
  } else {
    message += " within " + std::to_string(l.deadline_span.count()) + " ms";
    if (!values.empty()) message += " (" + std::to_string(values.size()) + " values read, none verified)";
  }
  call_handler("lookup", [&] { l.on_node(make_error(ErrorKind::Discovery, std::move(message))); });
}

}  // namespace datafold::net::discovery
