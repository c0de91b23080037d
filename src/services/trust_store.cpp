#include "datafold/net/trust_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "datafold/net/json.hpp"
#include "datafold/net/uuid.hpp"
#include "core/coarse_clock.hpp"
#include "core/posix_file.hpp"
#include "core/value_codec.hpp"

namespace datafold::net {

namespace {

namespace fs = std::filesystem;

struct Entry {
  std::uint32_t distance = 0;
  std::string note;
  std::string name;
};
using EntryMap = std::map<PublicKey, Entry>;

// Identifies one version of the file. Every write replaces the file by rename,
// which gives it a new inode, so even two writes within one mtime tick differ.
struct FileStamp {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;

  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

FileStamp stamp_of(const struct stat& st) {
  return {true, st.st_dev, st.st_ino, st.st_size,
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::string errno_text(int error) { return std::strerror(error); }

NetworkError file_error(const fs::path& path, const std::string& problem) {
  return make_error(ErrorKind::Config, "trust store " + path.string() + ": " + problem);
}

using detail::Fd;
using detail::write_all;

struct StatResult {
  FileStamp stamp;
  int error = 0;  // errno of a failed stat other than "not there"
};

StatResult stat_file(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return {stamp_of(st), 0};
  if (errno == ENOENT) return {};
  return {{}, errno};
}

struct Loaded {
  EntryMap entries;
  FileStamp stamp;
};

EntryMap to_map(std::vector<TrustEntry> entries) {
  EntryMap map;
  for (auto& e : entries) map[e.public_key] = Entry{e.distance, std::move(e.note), std::move(e.name)};
  return map;
}

std::vector<TrustEntry> to_vector(const EntryMap& map) {
  std::vector<TrustEntry> out;
  out.reserve(map.size());
  for (const auto& [key, entry] : map) out.push_back({key, entry.distance, entry.note, entry.name});
  return out;
}

// Reads and parses the file. A missing file is an empty store.
NetworkResult<Loaded> load(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Loaded{};
    return file_error(path, "cannot open: " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return file_error(path, "cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return file_error(path, "not a regular file");
  if (static_cast<std::uintmax_t>(st.st_size) > TrustStore::kMaxFileBytes)
    return file_error(path, "larger than " + std::to_string(TrustStore::kMaxFileBytes >> 20) + " MiB");
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return file_error(path, "cannot read: " + errno_text(errno));
    if (n == 0) break;  // shrank while we read: parse what is there, the stamp will differ next time
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  auto parsed = TrustStore::parse(text);
  if (!parsed) return file_error(path, parsed.error().message);
  return Loaded{to_map(std::move(*parsed)), stamp_of(st)};
}

NetworkResult<void> ensure_parent_dir(const fs::path& path) {
  const fs::path parent = path.parent_path();
  if (parent.empty()) return {};
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) return file_error(path, "cannot create directory " + parent.string() + ": " + ec.message());
  return {};
}

// Cross-process exclusion for read-modify-write, on a sidecar file: the store
// file itself cannot carry the lock because every write replaces its inode.
class ProcessLock {
 public:
  static constexpr auto kWait = std::chrono::seconds(5);

  static NetworkResult<ProcessLock> acquire(const fs::path& store_path) {
    fs::path lock_path = store_path;
    lock_path += ".lock";
    auto fd = std::make_unique<Fd>(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!*fd) return file_error(store_path, "cannot open lock file " + lock_path.string() + ": " + errno_text(errno));
    // Another writer holds it for milliseconds; a deadline rather than a blocking
    // flock keeps a wedged process from hanging every caller.
    const auto until = std::chrono::steady_clock::now() + kWait;
    while (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR)
        return file_error(store_path, "cannot lock " + lock_path.string() + ": " + errno_text(errno));
      if (std::chrono::steady_clock::now() >= until)
        return file_error(store_path, "another process has held " + lock_path.string() + " for over 5 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return ProcessLock(std::move(fd));
  }

 private:
  explicit ProcessLock(std::unique_ptr<Fd> fd) : fd_(std::move(fd)) {}
  std::unique_ptr<Fd> fd_;  // closing it releases the lock
};

// Writes `contents` to a temporary file beside `path`, flushes it to disk and
// renames it over `path`: a reader (or a crash) sees the old file or the new
// one, never a mix. Returns the new file's stamp.
NetworkResult<FileStamp> write_atomically(const fs::path& path, std::string_view contents) {
  // Public keys are not secret: 0644.
  if (auto problem = detail::replace_file_atomically(path, contents, 0644); !problem.empty())
    return file_error(path, problem);
  const auto now = stat_file(path);
  if (!now.stamp.exists) return file_error(path, "vanished right after being written");
  return now.stamp;
}

std::string describe_distance_problem(std::size_t index) {
  return "entries[" + std::to_string(index) + "].distance must be an integer 0..4294967295";
}

}  // namespace

struct TrustStore::State {
  fs::path path;  // empty: in memory

  mutable std::shared_mutex mutex;  // guards `entries`; held only for map operations
  EntryMap entries;

  // One writer or reloader at a time in this process. Guards everything below.
  std::mutex file_mutex;
  FileStamp stamp;                         // the version `entries` came from
  std::optional<FileStamp> bad_stamp;      // a malformed version already reported
  std::optional<NetworkError> bad_error;   // ... and what was wrong with it

  // steady_clock nanoseconds before which reload_if_changed() does not look.
  std::atomic<std::int64_t> next_check_ns{std::numeric_limits<std::int64_t>::min()};

  void replace(EntryMap fresh, const FileStamp& fresh_stamp) {
    {
      std::unique_lock lock(mutex);
      entries.swap(fresh);
    }
    stamp = fresh_stamp;
    bad_stamp.reset();
    bad_error.reset();
  }

  // Loads the file (seen as `seen` a moment ago) into `entries`; file_mutex held.
  NetworkResult<bool> replace_from_file(const FileStamp& seen) {
    auto loaded = load(path);
    if (!loaded) {
      // Keep serving the last good contents: a half-edited file should not make
      // every peer a stranger (or a friend) until someone notices.
      spdlog::warn("{}; keeping the trust store's last good contents", loaded.error().message);
      bad_stamp = seen;
      bad_error = loaded.error();
      return std::move(loaded).error();
    }
    replace(std::move(loaded->entries), loaded->stamp);
    return true;
  }
};

TrustStore::TrustStore() : state_(std::make_unique<State>()) {}
TrustStore::TrustStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
TrustStore::TrustStore(TrustStore&&) noexcept = default;
TrustStore& TrustStore::operator=(TrustStore&&) noexcept = default;
TrustStore::~TrustStore() = default;

NetworkResult<TrustStore> TrustStore::open(const fs::path& file) {
  if (file.empty()) return make_error(ErrorKind::Config, "trust store path is empty");
  auto loaded = load(file);
  if (!loaded) return std::move(loaded).error();
  auto state = std::make_unique<State>();
  state->path = file;
  state->entries = std::move(loaded->entries);
  state->stamp = loaded->stamp;
  return TrustStore(std::move(state));
}

const fs::path& TrustStore::path() const noexcept { return state_->path; }

std::optional<std::uint32_t> TrustStore::get(const PublicKey& key) const {
  std::shared_lock lock(state_->mutex);
  auto it = state_->entries.find(key);
  if (it == state_->entries.end()) return std::nullopt;
  return it->second.distance;
}

std::optional<PublicKey> TrustStore::key_named(std::string_view name) const {
  if (name.empty()) return std::nullopt;
  std::shared_lock lock(state_->mutex);
  for (const auto& [key, entry] : state_->entries)
    if (entry.name == name) return key;
  return std::nullopt;
}

bool TrustStore::valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || PublicKey::from_string(name)) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

std::vector<TrustEntry> TrustStore::entries() const {
  std::shared_lock lock(state_->mutex);
  return to_vector(state_->entries);
}

NetworkResult<void> TrustStore::set(const PublicKey& key, std::uint32_t distance, std::optional<std::string> note,
                                    std::optional<std::string> name) {
  // JSON text must be UTF-8; refusing here keeps the file and memory identical.
  if (note && !detail::is_valid_utf8(*note)) return make_error(ErrorKind::Config, "trust note is not valid UTF-8");
  if (name && !name->empty() && !valid_name(*name))
    return make_error(ErrorKind::Config, "trust name '" + *name +
                                             "' is not a name: use 1 to 64 letters, digits, '_', '-' or '.'");
  // Applies the change to `entries`, unless the name is another key's.
  auto apply = [&](EntryMap& entries) -> NetworkResult<void> {
    if (name && !name->empty())
      for (const auto& [other, entry] : entries)
        if (other != key && entry.name == *name)
          return make_error(ErrorKind::Config, "trust name '" + *name + "' is already the name of " + other.to_string());
    auto& entry = entries[key];
    entry.distance = distance;
    if (note) entry.note = std::move(*note);
    if (name) entry.name = std::move(*name);
    return {};
  };
  State& s = *state_;
  if (s.path.empty()) {
    std::unique_lock lock(s.mutex);
    return apply(s.entries);
  }
  std::lock_guard file_lock(s.file_mutex);
  if (auto dir = ensure_parent_dir(s.path); !dir) return dir;
  auto process_lock = ProcessLock::acquire(s.path);
  if (!process_lock) return std::move(process_lock).error();
  // Start from the file, not from memory: another process may have changed it
  // since we last looked, and writing our stale copy back would undo that.
  auto current = load(s.path);
  if (!current) return std::move(current).error();
  EntryMap next = std::move(current->entries);
  if (auto applied = apply(next); !applied) return applied;
  auto written = write_atomically(s.path, serialize(to_vector(next)));
  if (!written) return std::move(written).error();
  s.replace(std::move(next), *written);
  return {};
}

NetworkResult<bool> TrustStore::remove(const PublicKey& key) {
  State& s = *state_;
  if (s.path.empty()) {
    std::unique_lock lock(s.mutex);
    return s.entries.erase(key) > 0;
  }
  std::lock_guard file_lock(s.file_mutex);
  if (auto dir = ensure_parent_dir(s.path); !dir) return std::move(dir).error();
  auto process_lock = ProcessLock::acquire(s.path);
  if (!process_lock) return std::move(process_lock).error();
  auto current = load(s.path);
  if (!current) return std::move(current).error();
  EntryMap next = std::move(current->entries);
  if (next.erase(key) == 0) {
    s.replace(std::move(next), current->stamp);  // nothing to write, but catch up with the file
    return false;
  }
  auto written = write_atomically(s.path, serialize(to_vector(next)));
  if (!written) return std::move(written).error();
  s.replace(std::move(next), *written);
  return true;
}

// Asked on every query: the coarse clock is right enough for "at most every kReloadInterval".
NetworkResult<bool> TrustStore::reload_if_changed() { return reload_if_changed(detail::coarse_steady_now()); }

NetworkResult<bool> TrustStore::reload_if_changed(std::chrono::steady_clock::time_point now) {
  State& s = *state_;
  if (s.path.empty()) return false;
  // The per-query fast path: one atomic load. Exactly one caller per interval
  // wins the exchange and looks at the file; the others go on with what is loaded.
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::int64_t due = s.next_check_ns.load(std::memory_order_relaxed);
  if (now_ns < due) return false;
  const std::int64_t next =
      now_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(kReloadInterval).count();
  if (!s.next_check_ns.compare_exchange_strong(due, next, std::memory_order_relaxed)) return false;

  // A write in progress here leaves memory current when it finishes; don't wait for it.
  std::unique_lock file_lock(s.file_mutex, std::try_to_lock);
  if (!file_lock) return false;
  const auto seen = stat_file(s.path);
  if (seen.error != 0) return file_error(s.path, "cannot stat: " + errno_text(seen.error));
  if (seen.stamp == s.stamp) return false;
  if (s.bad_stamp && *s.bad_stamp == seen.stamp) return *s.bad_error;  // reported already
  return s.replace_from_file(seen.stamp);
}

NetworkResult<bool> TrustStore::reload() {
  State& s = *state_;
  if (s.path.empty()) return false;
  std::lock_guard file_lock(s.file_mutex);
  // Not the stamp: a caller who says the file changed knows better than a stat, which
  // can miss a rewrite of the same size within one mtime tick on a reused inode.
  const auto seen = stat_file(s.path);
  if (seen.error != 0) return file_error(s.path, "cannot stat: " + errno_text(seen.error));
  return s.replace_from_file(seen.stamp);
}

NetworkResult<std::vector<TrustEntry>> TrustStore::parse(std::string_view json_text) {
  auto bad = [](const std::string& problem) { return make_error(ErrorKind::Config, problem); };
  // nlohmann's parser and destructor are iterative (3.11), so a deeply nested
  // hostile file costs memory bounded by its size, not stack.
  Json doc = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return bad("not valid JSON");
  if (!doc.is_object()) return bad("the top level must be a JSON object");

  auto version = doc.find("version");
  if (version == doc.end()) return bad("\"version\" is missing");
  if (!version->is_number_integer() || version->get<std::int64_t>() != kFormatVersion)
    return bad("unsupported version " + version->dump() + " (this build reads version " +
               std::to_string(kFormatVersion) + ")");

  auto list = doc.find("entries");
  if (list == doc.end()) return bad("\"entries\" is missing");
  if (!list->is_array()) return bad("\"entries\" must be an array");

  std::vector<TrustEntry> out;
  out.reserve(list->size());
  std::map<PublicKey, std::size_t> seen;
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    const std::string where = "entries[" + std::to_string(i) + "]";
    if (!item.is_object()) return bad(where + " must be an object");

    auto key_it = item.find("public_key");
    if (key_it == item.end()) return bad(where + ".public_key is missing");
    if (!key_it->is_string()) return bad(where + ".public_key must be a string");
    auto key = PublicKey::from_string(key_it->get_ref<const std::string&>());
    if (!key) return bad(where + ".public_key is not a base64 Ed25519 public key (44 characters)");

    auto distance_it = item.find("distance");
    if (distance_it == item.end()) return bad(where + ".distance is missing");
    // nlohmann reads non-negative integers as unsigned; negative ones and floats are refused.
    if (!distance_it->is_number_unsigned() || distance_it->get<std::uint64_t>() > 0xFFFFFFFFu)
      return bad(describe_distance_problem(i));

    std::string note;
    if (auto note_it = item.find("note"); note_it != item.end() && !note_it->is_null()) {
      if (!note_it->is_string()) return bad(where + ".note must be a string");
      note = note_it->get<std::string>();
    }

    std::string name;
    if (auto name_it = item.find("name"); name_it != item.end() && !name_it->is_null()) {
      if (!name_it->is_string() || !valid_name(name_it->get_ref<const std::string&>()))
        return bad(where + ".name must be 1 to 64 letters, digits, '_', '-' or '.'");
      name = name_it->get<std::string>();
      auto [first, fresh] = names.emplace(name, i);
      if (!fresh) return bad(where + ".name '" + name + "' repeats entries[" + std::to_string(first->second) + "]");
    }

    auto [dup, inserted] = seen.emplace(*key, i);
    if (!inserted)
      return bad(where + ".public_key " + key->to_string() + " repeats entries[" + std::to_string(dup->second) + "]");
    out.push_back({*key, static_cast<std::uint32_t>(distance_it->get<std::uint64_t>()), std::move(note),
                   std::move(name)});
  }
  return out;
}

std::string TrustStore::serialize(const std::vector<TrustEntry>& entries) {
  // One entry per line, keys in a fixed order, sorted by key: a person can read
  // and diff it, and the same store always gives the same bytes.
  std::vector<const TrustEntry*> sorted;
  sorted.reserve(entries.size());
  for (const auto& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->public_key < b->public_key; });

  std::string out = "{\"version\": " + std::to_string(kFormatVersion) + ", \"entries\": [";
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const TrustEntry& e = *sorted[i];
    out += i == 0 ? "\n  " : ",\n  ";
    out += "{\"public_key\": \"" + e.public_key.to_string() + "\", \"distance\": " + std::to_string(e.distance);
    if (!e.note.empty())
      out += ", \"note\": " + Json(e.note).dump(-1, ' ', false, Json::error_handler_t::replace);
    if (!e.name.empty()) out += ", \"name\": \"" + e.name + "\"";  // valid_name: nothing to escape
    out += "}";
  }
  out += sorted.empty() ? "]}\n" : "\n]}\n";
  return out;
}

}  // namespace datafold::net
