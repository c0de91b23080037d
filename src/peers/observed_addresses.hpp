// ObservedAddresses: which of the addresses peers say they see this node at are
// believed (DESIGN.md section 10.1, issue 10 item 4). Each peer's Hello carries
// the address this node's connection came from (HelloMessage::observed_address);
// behind a NAT that is the gateway's public address, which the node cannot learn
// any other way. One peer's word is worth nothing, since any peer can lie, so an
// IP is believed only when kConfirmationsNeeded peers that are distinct both by
// node id and by IP address report it within the window. Keys are free to make;
// addresses are not, so many keys from one IP count as one peer, and one key
// moving between IPs counts as one peer too.
//
// Only the IP is believed, not the port: the port a peer sees on a connection
// this node dialled is an ephemeral one (and a NAT's choice). The node announces
// a believed IP with its own listen port (confirmed_addresses()).
//
// Socket-free and clock-fed: the node reports each Hello it receives and asks
// what is believed; unit tests drive it with a fake clock. Not thread-safe (the
// owner locks). Memory is bounded whatever peers send: at most max_candidates IPs,
// each with at most max_reporters_per_candidate reports.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/node_id.hpp"

namespace datafold::net::detail {

class ObservedAddresses {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  // Distinct peers (by node id and by IP) that must report an IP before it is believed.
  static constexpr std::size_t kConfirmationsNeeded = 3;

  struct Settings {
    std::size_t confirmations = kConfirmationsNeeded;
    // A report counts for this long; a peer that still sees the address reports it
    // again on its next connection.
    std::chrono::milliseconds window{std::chrono::minutes(10)};
    std::size_t max_candidates = 64;
    std::size_t max_reporters_per_candidate = 16;
  };

  enum class Outcome {
    Counted,      // the report now counts toward its IP
    Confirmed,    // counted, and it made the IP believed
    Malformed,    // the observed address is not "ip:port", or the reporter's IP is not an IP
    NotRoutable,  // loopback, unspecified, link-local, multicast, broadcast: never believed
    NoRoom,       // max_candidates IPs are all believed; the report is dropped
  };

  ObservedAddresses() : ObservedAddresses(Settings{}) {}
  explicit ObservedAddresses(Settings settings);

  // Peer `reporter`, connected from `reporter_ip` ("1.2.3.4", "2001:db8::1"), says
  // it sees this node at `observed` ("ip:port", "[v6]:port"). A reporter's new
  // report replaces its earlier one, whichever IP that was for, and so does a report
  // from another node id at the same reporter IP.
  Outcome report(const NodeId& reporter, std::string_view reporter_ip, std::string_view observed, TimePoint now);

  // The believed IPs ("203.0.113.7", "2001:db8::7"), the best supported first.
  std::vector<std::string> confirmed(TimePoint now) const;
  // Every IP some peer reports now, believed or not, the best supported first: only
  // for what a wrong address cannot harm (a hole punch's guesses, which the TLS
  // identity check guards), never for announcements.
  std::vector<std::string> reported(TimePoint now) const;
  // The same, each with `listen_port`: "203.0.113.7:9000", "[2001:db8::7]:9000".
  std::vector<std::string> confirmed_addresses(TimePoint now, std::uint16_t listen_port) const;
  // Distinct reporters of `ip` whose reports still count.
  std::size_t supporters(std::string_view ip, TimePoint now) const;
  // IPs with at least one report (believed or not), reports past the window included
  // until the next report() drops them.
  std::size_t candidates() const noexcept { return candidates_.size(); }

 private:
  struct Report {
    NodeId reporter;
    std::string reporter_ip;
    TimePoint at;
  };
  struct Candidate {
    std::string ip;
    std::vector<Report> reports;  // pairwise distinct node ids and reporter IPs
  };

  bool counts(const Report& report, TimePoint now) const;
  std::vector<std::string> supported_by(std::size_t reporters, TimePoint now) const;
  std::size_t live(const Candidate& candidate, TimePoint now) const;
  void forget_reporter(const NodeId& reporter, const std::string& reporter_ip);
  void drop_expired(TimePoint now);
  // A slot for a new IP, evicting the least supported unbelieved one if full; false if none.
  bool make_room(TimePoint now);

  Settings settings_;
  std::vector<Candidate> candidates_;
};

}  // namespace datafold::net::detail
