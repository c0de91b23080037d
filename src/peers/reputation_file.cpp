#include "peers/reputation_file.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/posix_file.hpp"

namespace datafold::net::detail {

namespace {

constexpr std::string_view kHeader = "# datafold reputation v1";
// Unix ms within years 1970..2200 (what a clock can say, and what system_clock's
// nanoseconds hold); anything else is damage.
constexpr std::int64_t kMaxUnixMs = 7'258'118'400'000;

std::int64_t to_unix_ms(Reputation::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Reputation::Clock::time_point from_unix_ms(std::int64_t ms) {
  return Reputation::Clock::time_point(std::chrono::duration_cast<Reputation::Clock::duration>(std::chrono::milliseconds(ms)));
}

std::optional<std::int64_t> parse_ms(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > kMaxUnixMs) return std::nullopt;
  return value;
}

std::optional<double> parse_score(std::string_view text) {
  // strtod on a bounded copy: from_chars for doubles is not in every libc++ here.
  if (text.empty() || text.size() > 32) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value) || std::abs(value) > 1e9) return std::nullopt;
  return value;
}

// The block text Reputation uses: an IPv4 address, or an IPv6 /64 ending "::/64".
bool is_block(std::string_view subject) {
  if (subject.size() > 3 && subject.substr(subject.size() - 3) == "/64") {
    const auto prefix = std::string(subject.substr(0, subject.size() - 3));
    return Reputation::block_of(prefix) == subject;
  }
  return subject.find(':') == std::string_view::npos && Reputation::block_of(subject) == subject;
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty() && out.size() <= 5) {
    const auto start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    const auto end = line.find(' ');
    out.push_back(line.substr(0, end));
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  }
  return out;
}

std::optional<Reputation::Entry> parse_line(std::string_view line) {
  const auto fields = fields_of(line);
  if (fields.size() != 5) return std::nullopt;
  Reputation::Entry entry;
  if (fields[0] == "node") {
    if (!NodeId::from_string(fields[1])) return std::nullopt;
    entry.is_node = true;
  } else if (fields[0] == "ip") {
    if (!is_block(fields[1])) return std::nullopt;
  } else {
    return std::nullopt;
  }
  entry.subject = std::string(fields[1]);
  const auto score = parse_score(fields[2]);
  const auto updated = parse_ms(fields[3]);
  if (!score || !updated) return std::nullopt;
  entry.score = *score;
  entry.updated = from_unix_ms(*updated);
  if (fields[4] != "-") {
    const auto until = parse_ms(fields[4]);
    if (!until) return std::nullopt;
    entry.banned_until = from_unix_ms(*until);
  }
  return entry;
}

NetworkError file_error(const std::filesystem::path& path, const std::string& problem) {
  return make_error(ErrorKind::Config, "reputation file " + path.string() + ": " + problem);
}

}  // namespace

std::string serialize_reputation(const std::vector<Reputation::Entry>& entries) {
  std::ostringstream out;
  out << kHeader << '\n';
  out.precision(std::numeric_limits<double>::max_digits10);
  for (const auto& entry : entries) {
    out << (entry.is_node ? "node " : "ip ") << entry.subject << ' ' << entry.score << ' ' << to_unix_ms(entry.updated)
        << ' ';
    if (entry.banned_until) {
      out << to_unix_ms(*entry.banned_until);
    } else {
      out << '-';
    }
    out << '\n';
  }
  return out.str();
}

ReputationFileContents parse_reputation(std::string_view text) {
  ReputationFileContents out;
  while (!text.empty()) {
    const auto end = text.find('\n');
    auto line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (auto entry = parse_line(line)) {
      out.entries.push_back(std::move(*entry));
    } else {
      ++out.skipped_lines;
    }
  }
  return out;
}

NetworkResult<ReputationFileContents> load_reputation_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return ReputationFileContents{};
    return file_error(path, std::string("cannot read: ") + std::strerror(errno));
  }
  std::string text;
  char chunk[4096];
  while (text.size() <= kMaxReputationFileBytes && in.read(chunk, sizeof chunk).gcount() > 0)
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return file_error(path, std::string("cannot read: ") + std::strerror(errno));
  if (text.size() > kMaxReputationFileBytes)
    return file_error(path, "larger than " + std::to_string(kMaxReputationFileBytes >> 20) + " MiB");
  return parse_reputation(text);
}

NetworkResult<void> save_reputation_file(const std::filesystem::path& path,
                                         const std::vector<Reputation::Entry>& entries) {
  if (auto problem = replace_file_atomically(path, serialize_reputation(entries), 0600); !problem.empty())
    return file_error(path, problem);
  return {};
}

}  // namespace datafold::net::detail
