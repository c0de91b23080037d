// The reputation file in the data dir: what Reputation::entries() gave, one line
// each, so that scores and bans survive a restart (DESIGN.md section 10.4).
//
//   # datafold reputation v1
//   node <node id, 52 chars> <score> <updated, unix ms> <banned until, unix ms, or ->
//   ip <IPv4 address, or IPv6 /64 as "2001:db8::/64"> <score> <updated> <banned until or ->
//
// Written whole and atomically (mode 0600: it says whom the node distrusts).
// Reading never fails on content: a line it cannot read is skipped and counted,
// so a damaged file costs what it lost, not the node's start.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/error.hpp"
#include "peers/reputation.hpp"

namespace datafold::net::detail {

// Larger than any file max_entries lets the node write; a bigger one is refused.
inline constexpr std::size_t kMaxReputationFileBytes = 8u << 20;

struct ReputationFileContents {
  std::vector<Reputation::Entry> entries;
  std::size_t skipped_lines = 0;
};

std::string serialize_reputation(const std::vector<Reputation::Entry>& entries);
ReputationFileContents parse_reputation(std::string_view text);

// A missing file is an empty one. Config error if it cannot be read or is too big.
NetworkResult<ReputationFileContents> load_reputation_file(const std::filesystem::path& path);
NetworkResult<void> save_reputation_file(const std::filesystem::path& path,
                                         const std::vector<Reputation::Entry>& entries);

}  // namespace datafold::net::detail
