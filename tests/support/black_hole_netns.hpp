// BlackHoleNetns: a network namespace of the caller's own with loopback up and one
// IP on it made a black hole: nftables drops, on input, every packet to it, so a
// connect there hears nothing at all (no reset, no ICMP) until its own timeout. For
// the Happy Eyeballs test and bench. Needs root and `ip` and `nft`; create() says why
// not otherwise. The destructor deletes the namespace, and the rule with it.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace datafold::net::testing {

class BlackHoleNetns {
 public:
  // `black_hole_ip`: a loopback address other than 127.0.0.1, e.g. "127.0.0.2".
  static std::unique_ptr<BlackHoleNetns> create(const std::string& black_hole_ip, std::string& why_not);
  ~BlackHoleNetns();

  BlackHoleNetns(const BlackHoleNetns&) = delete;
  BlackHoleNetns& operator=(const BlackHoleNetns&) = delete;

  // For run_in_netns().
  const std::string& name() const { return name_; }
  // Packets the rule has dropped so far; -1 if nft could not say.
  long dropped_packets() const;
  // Runs `ip -n NAME args...` (e.g. to add an interface); true if it succeeded.
  bool ip(std::vector<std::string> args) const;

 private:
  explicit BlackHoleNetns(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

}  // namespace datafold::net::testing
