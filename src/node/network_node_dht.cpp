// NetworkNode's wide-area discovery (DESIGN.md section 10.2): the node's signed
// announcement in the DHT, and ids with no address that answers looked up there.
#include <future>

#include <spdlog/spdlog.h>

#include "discovery/announcement.hpp"
#include "node/advertised_addresses.hpp"
#include "node/network_node.hpp"

namespace datafold::net {

namespace {

// A lookup for the same id at most this often: a query to a node that is down
// must not become a DHT search per query.
constexpr auto kMinLookupGap = std::chrono::seconds(5);
constexpr std::size_t kMaxRememberedLookups = 4096;

// Failures a fresh address could cure: none known, or none that answered.
bool worth_a_lookup(const NetworkError& error) {
  return error.kind == ErrorKind::Discovery || error.kind == ErrorKind::Connection ||
         error.kind == ErrorKind::Timeout;
}

DhtStats to_public(const discovery::DhtStats& in, std::uint16_t port) {
  DhtStats out;
  out.port = port;
  out.values_read = in.values.read;
  out.values_accepted = in.values.accepted;
  out.values_superseded = in.values.superseded;
  out.values_forged = in.values.forged();
  out.values_replayed = in.values.replayed;
  out.values_refused = in.values.refused;
  out.values_foreign = in.values.foreign_network;
  out.values_stale = in.values.stale + in.values.future;
  out.values_malformed = in.values.malformed + in.values.oversize;
  out.lookups = in.lookups;
  out.lookups_found = in.lookups_found;
  out.lookups_failed = in.lookups_failed;
  out.publications = in.publications;
  out.datagrams_in = in.datagrams_in;
  out.datagrams_out = in.datagrams_out;
  out.routing_table_nodes = in.good_nodes;
  return out;
}

}  // namespace

NetworkResult<void> NetworkNode::open_dht() {
  discovery::DhtConfig dht_config{
      .identity = identity_,
      .network_name = config_.network_name,
      // The DHT listens where the node does: "::" both families, a literal that address.
      .bind_address = config_.listen_address,
      .port = config_.dht_port,
      .bootstrap = config_.dht_bootstrap,
      .republish_interval = config_.dht_republish_interval,
      .refuse_node = [this](const NodeId& node) { return reputation_->refuse_node(node); },
  };
  auto made = discovery::DhtDiscovery::create(std::move(dht_config));
  if (!made) return std::move(made).error();
  std::shared_ptr<discovery::DhtDiscovery> dht = std::move(*made);
  if (auto started = dht->start(); !started) return started;
  {
    std::lock_guard lock(mutex_);
    dht_ = dht;
  }
  publish_to_dht();
  spdlog::info("DHT on UDP port {}, {} bootstrap node(s)", dht->port(), config_.dht_bootstrap.size());
  return {};
}

void NetworkNode::publish_to_dht() {
  std::shared_ptr<discovery::DhtDiscovery> dht;
  {
    std::lock_guard lock(mutex_);
    dht = dht_;
  }
  if (!dht) return;
  discovery::AnnouncementFields fields;
  fields.tcp_port = bound_port_.load();
  for (auto& address : advertised_addresses()) fields.addresses.push_back(std::move(address.address));
  {
    // Relayed addresses last (dialled last), but always in: for a node behind a NAT
    // they may be the only ones that work, so they take the place of local ones.
    std::lock_guard lock(mutex_);
    auto relayed = relayed_addresses_locked();
    const std::size_t keep = discovery::kMaxAddresses > relayed.size() ? discovery::kMaxAddresses - relayed.size() : 0;
    if (fields.addresses.size() > keep) fields.addresses.resize(keep);
    for (auto& address : relayed) fields.addresses.push_back(std::move(address));
  }
  fields.capabilities = capabilities();
  fields.min_version = kMinProtocolVersion;
  fields.max_version = kMaxProtocolVersion;
  dht->publish(std::move(fields));
}

std::vector<std::string> NetworkNode::confirmed_public_ips() const {
  std::lock_guard lock(mutex_);
  return observed_.confirmed(detail::ObservedAddresses::Clock::now());
}

void NetworkNode::note_observed_address(const NodeId& reporter, const std::string& reporter_ip,
                                        const std::string& observed) {
  if (observed.empty()) return;  // a peer that predates the field
  detail::ObservedAddresses::Outcome outcome;
  {
    std::lock_guard lock(mutex_);
    outcome = observed_.report(reporter, reporter_ip, observed, detail::ObservedAddresses::Clock::now());
  }
  if (outcome != detail::ObservedAddresses::Outcome::Confirmed) return;
  spdlog::info("peers agree this node is reachable at {}; announcing it", observed);
  announce_addresses();
}

void NetworkNode::announce_addresses() {
  std::shared_ptr<NodeDiscovery> discovery;
  std::vector<std::string> extra;
  {
    std::lock_guard lock(mutex_);
    discovery = discovery_;
    extra = extra_addresses_locked();
  }
  if (discovery) {
    discovery->set_extra_addresses(std::move(extra));
    discovery->announce_presence();
  }
  publish_to_dht();
}

NodeCapabilities NetworkNode::capabilities() const {
  NodeCapabilities out = config_.capabilities;
  out.dial_back = config_.answer_dial_back;
  out.relay = config_.relay;
  out.hole_punch = config_.hole_punching;
  out.streamed_answers = true;  // every node of this build answers in parts when asked
  return out;
}

std::optional<DhtStats> NetworkNode::dht_stats() const {
  std::lock_guard lock(mutex_);
  if (!dht_) return std::nullopt;
  auto out = to_public(dht_->stats(), dht_->port());
  out.lookup_latency_buckets = dht_lookup_buckets_;
  out.lookup_latency_count = dht_lookup_count_;
  out.lookup_latency_sum_ms = dht_lookup_sum_ms_;
  return out;
}

void NetworkNode::record_dht_lookup(std::chrono::steady_clock::time_point started) {
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < DhtStats::kLookupBucketsMs.size(); ++i)
    if (ms <= DhtStats::kLookupBucketsMs[i]) ++dht_lookup_buckets_[i];
  ++dht_lookup_count_;
  dht_lookup_sum_ms_ += ms;
}

void NetworkNode::async_inspect_dht(const NodeId& id,
                                    std::function<void(NetworkResult<std::vector<DhtRecord>>)> done) {
  std::shared_ptr<discovery::DhtDiscovery> dht;
  {
    std::lock_guard lock(mutex_);
    dht = dht_;
  }
  if (!dht) return done(make_error(ErrorKind::Discovery, "the DHT is off on this node (see --dht, --dht-bootstrap)"));
  dht->inspect(id, config_.dht_lookup_timeout, [done = std::move(done)](std::vector<discovery::DhtValueReport> reports) {
    std::vector<DhtRecord> records;
    for (const auto& report : reports) {
      DhtRecord record;
      record.verified = report.verified;
      record.why_not = report.why_not;
      record.bytes = report.bytes;
      record.age = report.age;
      if (report.fields) {
        record.node_id = report.fields->node_id;
        record.addresses = report.fields->addresses;
        record.tcp_port = report.fields->tcp_port;
        record.sequence = report.fields->sequence;
      }
      records.push_back(std::move(record));
    }
    done(std::move(records));
  });
}

bool NetworkNode::merge_from_dht(const discovery::DhtFoundNode& found, const std::vector<std::string>& tried) {
  const auto& id = found.info.node_id;
  if (id == identity_.node_id() || found.info.addresses.empty()) return false;
  // A banned node's announcement says nothing this node will act on.
  if (reputation_->refuse_node(id)) return false;
  auto node = found.info;
  node.trust_distance = trust_distance_of(node.public_key);
  bool news = false;
  for (const auto& address : node.addresses)
    if (std::find(tried.begin(), tried.end(), address.address) == tried.end()) news = true;
  std::lock_guard lock(mutex_);
  // What the DHT says now replaces what it said before; a signed, current
  // announcement is a sign of life, as on the LAN.
  if (auto order = peers_.on_announced(node, AddressSource::Dht, detail::PeerClock::now()))
    schedule_redial_locked(*order);
  return news;
}

std::vector<std::string> NetworkNode::addresses_known_locked(const NodeId& id) const {
  std::vector<std::string> out;
  if (auto known = peers_.find(id))
    for (const auto& address : known->addresses) out.push_back(address.address);
  return out;
}

void NetworkNode::async_connection(const NodeId& id, ConnectionHandler done) {
  std::shared_ptr<discovery::DhtDiscovery> dht;
  {
    std::lock_guard lock(mutex_);
    dht = dht_;
  }
  if (!dht) return connect_known(id, std::move(done));
  connect_known(id, [self = shared_from_this(), dht, id, done = std::move(done)](
                        NetworkResult<ConnectionPtr> outcome) mutable {
    if (outcome || !worth_a_lookup(outcome.error()) || !self->running()) return done(std::move(outcome));
    std::vector<std::string> tried;
    bool looked_up_lately = false;
    {
      std::lock_guard lock(self->mutex_);
      const auto now = std::chrono::steady_clock::now();
      auto [last, first_time] = self->dht_lookups_.try_emplace(id, now);
      looked_up_lately = !first_time && now - last->second < kMinLookupGap;
      if (!looked_up_lately) {
        last->second = now;
        if (self->dht_lookups_.size() > kMaxRememberedLookups)
          std::erase_if(self->dht_lookups_, [now](const auto& entry) { return now - entry.second >= kMinLookupGap; });
        tried = self->addresses_known_locked(id);
      }
    }
    // Never under mutex_: a handler that runs where it is called (RunOn::IoThread)
    // may ask this node for the next connection at once.
    if (looked_up_lately) return done(std::move(outcome));
    // No address, or none answered: the DHT may know where the node is now.
    auto first_error = std::move(outcome).error();
    dht->lookup(id, self->config_.dht_lookup_timeout,
                [self, id, tried = std::move(tried), first_error = std::move(first_error), done = std::move(done),
                 started = std::chrono::steady_clock::now()](NetworkResult<discovery::DhtFoundNode> found) mutable {
                  self->record_dht_lookup(started);
                  if (!found) {
                    if (first_error.kind != ErrorKind::Discovery) return done(std::move(first_error));
                    return done(make_error(ErrorKind::Discovery, "node " + id.short_string() +
                                                                     " is not known here and not found in the DHT: " +
                                                                     found.error().message));
                  }
                  if (!self->merge_from_dht(*found, tried)) return done(std::move(first_error));
                  spdlog::debug("DHT: node {} at {}", id.short_string(), found->info.address);
                  self->connect_known(id, std::move(done));
                });
  });
}

std::future<std::vector<discovery::DhtFoundNode>> NetworkNode::ask_dht_for_network(
    const std::shared_ptr<discovery::DhtDiscovery>& dht) {
  auto promise = std::make_shared<std::promise<std::vector<discovery::DhtFoundNode>>>();
  auto future = promise->get_future();
  dht->find_network_nodes(config_.dht_lookup_timeout,
                          [promise](std::vector<discovery::DhtFoundNode> nodes) { promise->set_value(std::move(nodes)); });
  return future;
}

}  // namespace datafold::net
