#include "netsim/dht_forgeries.hpp"

#include <chrono>
#include <random>
#include <span>

#include "datafold.pb.h"
#include "datafold/net/uuid.hpp"
#include "discovery/announcement.hpp"

namespace datafold::net::testing {

namespace {

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

std::string bytes_of(const std::array<std::uint8_t, 32>& a) { return std::string(a.begin(), a.end()); }

std::string signed_by(const std::string& body, const Identity& signer) {
  const auto signature = signer.sign(std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
  datafold::wire::SignedAnnouncement s;
  s.set_announcement(body);
  s.set_signature(std::string(signature.begin(), signature.end()));
  return s.SerializeAsString();
}

// A SignedAnnouncement built field by field, so it can say what the library's
// encoder never would (an id that is not the hash of the key).
std::string announcement(const std::string& node_id_bytes, const std::string& public_key_bytes,
                         const ForgeryPlan& plan) {
  datafold::wire::NodeAnnouncement a;
  a.set_node_id(node_id_bytes);
  a.set_public_key(public_key_bytes);
  a.set_tcp_port(9000);
  a.add_addresses(plan.claim);
  a.mutable_capabilities()->set_supports_query(true);
  a.mutable_capabilities()->set_supports_schema_listing(true);
  a.set_min_version(1);
  a.set_max_version(1);
  a.set_network_name(plan.network);
  const auto instance = Uuid::random().bytes();
  a.set_instance_id(std::string(instance.begin(), instance.end()));
  a.set_sequence(1);
  a.set_timestamp_ms(unix_ms());
  a.set_ttl_seconds(600);
  return signed_by(a.SerializeAsString(), *plan.forger);
}

}  // namespace

std::map<std::string, Forgery> make_forgeries(const ForgeryPlan& plan) {
  const Identity& me = *plan.forger;
  const std::string my_key = bytes_of(me.public_key().bytes());
  std::map<std::string, Forgery> out;
  // The victim's id with the forger's key, signed by the forger: id != SHA-256(key).
  out["claims_victim_id"] = {announcement(bytes_of(plan.victim.bytes()), my_key, plan), true, "id mismatch"};
  // A node that does not exist: an id no key hashes to.
  out["phantom_node"] = {announcement(bytes_of(plan.phantom.bytes()), my_key, plan), true, "id mismatch"};

  // The forger's own identity, validly signed, but wrong in some other way.
  discovery::AnnouncementFields own;
  own.tcp_port = 9000;
  own.addresses = {plan.claim};
  own.network_name = plan.network + "-elsewhere";
  own.instance_id = Uuid::random();
  own.sequence = 1;
  own.timestamp_ms = unix_ms();
  own.ttl_seconds = 600;
  out["foreign_network"] = {discovery::sign_announcement(own, me), true, "foreign network"};
  own.network_name = plan.network;
  own.timestamp_ms = unix_ms() - 3'600'000;  // an hour old, with a ten-minute ttl
  out["stale_timestamp"] = {discovery::sign_announcement(own, me), true, "stale"};
  own.timestamp_ms = unix_ms();
  // Valid, current, of this network: the forger may announce itself under its own
  // keys, but under the victim's key it is a lie. So: the victim's key only.
  out["wrong_key"] = {discovery::sign_announcement(own, me), false, "wrong key"};
  // A LAN datagram (header and all) is not a DHT value.
  out["datagram_framed"] = {discovery::encode_datagram(own, me), true, "malformed"};
  out["garbage"] = {random_bytes(300), true, "malformed"};
  out["oversize"] = {random_bytes(discovery::kMaxDatagramBytes * 4), true, "oversize"};

  if (plan.genuine) {
    // The victim's real announcement with the forger's address in it; the
    // victim's signature kept, so it no longer verifies.
    datafold::wire::SignedAnnouncement s;
    datafold::wire::NodeAnnouncement a;
    if (s.ParseFromString(*plan.genuine) && a.ParseFromString(s.announcement())) {
      a.clear_addresses();
      a.add_addresses(plan.claim);
      a.set_sequence(a.sequence() + 1);
      s.set_announcement(a.SerializeAsString());
      out["tampered"] = {s.SerializeAsString(), true, "bad signature"};
    }
  }
  return out;
}

}  // namespace datafold::net::testing
