#include "peers/observed_addresses.hpp"

#include <algorithm>
#include <utility>

#include "core/endpoint.hpp"
#include "core/ip_address.hpp"

namespace datafold::net::detail {

namespace {

ObservedAddresses::TimePoint latest_report_time(const auto& candidate) {
  ObservedAddresses::TimePoint latest{};
  for (const auto& r : candidate.reports) latest = std::max(latest, r.at);
  return latest;
}

}  // namespace

ObservedAddresses::ObservedAddresses(Settings settings) : settings_(settings) {
  // Believing an address on no one's word would defeat the point.
  settings_.confirmations = std::max<std::size_t>(settings_.confirmations, 1);
  settings_.max_candidates = std::max<std::size_t>(settings_.max_candidates, 1);
  settings_.max_reporters_per_candidate =
      std::max(settings_.max_reporters_per_candidate, settings_.confirmations);
}

bool ObservedAddresses::counts(const Report& report, TimePoint now) const {
  return now - report.at < settings_.window;
}

std::size_t ObservedAddresses::live(const Candidate& candidate, TimePoint now) const {
  return static_cast<std::size_t>(std::count_if(candidate.reports.begin(), candidate.reports.end(),
                                                [&](const Report& r) { return counts(r, now); }));
}

void ObservedAddresses::forget_reporter(const NodeId& reporter, const std::string& reporter_ip) {
  for (auto& c : candidates_)
    std::erase_if(c.reports, [&](const Report& r) { return r.reporter == reporter || r.reporter_ip == reporter_ip; });
  std::erase_if(candidates_, [](const Candidate& c) { return c.reports.empty(); });
}

void ObservedAddresses::drop_expired(TimePoint now) {
  for (auto& c : candidates_) std::erase_if(c.reports, [&](const Report& r) { return !counts(r, now); });
  std::erase_if(candidates_, [](const Candidate& c) { return c.reports.empty(); });
}

bool ObservedAddresses::make_room(TimePoint now) {
  if (candidates_.size() < settings_.max_candidates) return true;
  // A believed IP is never pushed out by unconfirmed ones: that would let a
  // flood of lies unseat the truth.
  auto victim = candidates_.end();
  for (auto it = candidates_.begin(); it != candidates_.end(); ++it) {
    if (live(*it, now) >= settings_.confirmations) continue;
    if (victim == candidates_.end() || it->reports.size() < victim->reports.size() ||
        (it->reports.size() == victim->reports.size() && latest_report_time(*it) < latest_report_time(*victim)))
      victim = it;
  }
  if (victim == candidates_.end()) return false;
  candidates_.erase(victim);
  return true;
}

ObservedAddresses::Outcome ObservedAddresses::report(const NodeId& reporter, std::string_view reporter_ip,
                                                     std::string_view observed, TimePoint now) {
  const auto host_port = parse_host_port(observed);
  if (!host_port) return Outcome::Malformed;
  const auto observed_ip = parse_ip(host_port->host);
  const auto from = parse_ip(reporter_ip);
  if (!observed_ip || !from) return Outcome::Malformed;
  if (!is_routable_unicast(*observed_ip)) return Outcome::NotRoutable;
  // Canonical text, so "2001:DB8::7" and "2001:db8:0::7" are one IP, and so are
  // an IPv4 peer seen through a dual-stack socket and one seen directly.
  const std::string ip = ip_text(*observed_ip);
  const std::string from_ip = ip_text(*from);

  drop_expired(now);
  forget_reporter(reporter, from_ip);
  auto it = std::find_if(candidates_.begin(), candidates_.end(), [&](const Candidate& c) { return c.ip == ip; });
  if (it == candidates_.end()) {
    if (!make_room(now)) return Outcome::NoRoom;
    it = candidates_.insert(candidates_.end(), Candidate{ip, {}});
  }
  const bool was_believed = live(*it, now) >= settings_.confirmations;
  if (it->reports.size() >= settings_.max_reporters_per_candidate) {
    // Full of support already: the oldest report makes way.
    it->reports.erase(std::min_element(it->reports.begin(), it->reports.end(),
                                       [](const Report& a, const Report& b) { return a.at < b.at; }));
  }
  it->reports.push_back(Report{reporter, from_ip, now});
  return !was_believed && live(*it, now) >= settings_.confirmations ? Outcome::Confirmed : Outcome::Counted;
}

std::vector<std::string> ObservedAddresses::confirmed(TimePoint now) const { return supported_by(settings_.confirmations, now); }

std::vector<std::string> ObservedAddresses::reported(TimePoint now) const { return supported_by(1, now); }

std::vector<std::string> ObservedAddresses::supported_by(std::size_t reporters, TimePoint now) const {
  std::vector<std::pair<const Candidate*, std::size_t>> believed;
  for (const auto& c : candidates_) {
    const auto n = live(c, now);
    if (n >= reporters) believed.emplace_back(&c, n);
  }
  std::stable_sort(believed.begin(), believed.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return latest_report_time(*a.first) > latest_report_time(*b.first);
  });
  std::vector<std::string> out;
  out.reserve(believed.size());
  for (const auto& [c, n] : believed) out.push_back(c->ip);
  return out;
}

std::vector<std::string> ObservedAddresses::confirmed_addresses(TimePoint now, std::uint16_t listen_port) const {
  std::vector<std::string> out;
  for (const auto& ip : confirmed(now)) out.push_back(format_host_port(ip, listen_port));
  return out;
}

std::size_t ObservedAddresses::supporters(std::string_view ip, TimePoint now) const {
  const auto parsed = parse_ip(ip);
  if (!parsed) return 0;
  const std::string text = ip_text(*parsed);
  for (const auto& c : candidates_)
    if (c.ip == text) return live(c, now);
  return 0;
}

}  // namespace datafold::net::detail
