// TrustStore: how far this node trusts each public key (DESIGN.md section 9).
// Lower distance = more trusted; keys the store does not know are the node's
// business (NetworkConfig::unknown_trust_distance), and the node's own key is
// always 0 without being stored.
//
// Persisted as a small JSON file in the data dir:
//   {"version": 1, "entries": [{"public_key": "<base64>", "distance": 1, "note": "alice",
//                               "name": "trusted_service_key"}, ...]}
// ("note" and "name" are optional; a name is unique in the store). Every write replaces the file atomically (temp file +
// rename), so a reader never sees half a file, and re-reads it first, so two
// processes sharing the file (a running node and `datafold trust set`) do not
// undo each other's changes. A store without a path lives in memory only.
//
// Thread-safe: every call may be made from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datafold/net/error.hpp"
#include "datafold/net/public_key.hpp"

namespace datafold::net {

struct TrustEntry {
  PublicKey public_key;
  std::uint32_t distance = 0;
  std::string note;  // free text for the operator; empty: none
  // What schemas call this key in their allow-lists (fold_db's files name keys, e.g.
  // "trusted_service_key"); empty: none. Unique in the store; see valid_name().
  std::string name{};

  friend bool operator==(const TrustEntry&, const TrustEntry&) = default;
};

class TrustStore {
 public:
  // The file format this build reads and writes.
  static constexpr int kFormatVersion = 1;
  // reload_if_changed() looks at the file at most this often.
  static constexpr std::chrono::milliseconds kReloadInterval{250};
  // Files above this size are refused rather than read into memory.
  static constexpr std::size_t kMaxFileBytes = 16u << 20;

  // An empty store that lives in memory only.
  TrustStore();
  // The store persisted in `file`. A missing file is an empty store (the file is
  // created by the first change); a file that cannot be read or is malformed is a
  // Config error naming the file and the problem.
  static NetworkResult<TrustStore> open(const std::filesystem::path& file);

  TrustStore(TrustStore&&) noexcept;
  TrustStore& operator=(TrustStore&&) noexcept;  // a moved-from store may only be assigned or destroyed
  ~TrustStore();

  // Sets `key`'s distance. `note` and `name` replace the entry's; nullopt keeps the
  // existing ones ("" clears). Persisted before it returns: on a write failure or a
  // name that is invalid or another key's (Config error) neither the file nor the
  // store has changed.
  NetworkResult<void> set(const PublicKey& key, std::uint32_t distance,
                          std::optional<std::string> note = std::nullopt,
                          std::optional<std::string> name = std::nullopt);
  // Forgets `key`; false if it was not there. Persisted as set() is.
  NetworkResult<bool> remove(const PublicKey& key);

  std::optional<std::uint32_t> get(const PublicKey& key) const;
  // The key the store calls `name`, if any.
  std::optional<PublicKey> key_named(std::string_view name) const;
  // A name is 1 to 64 of A-Z a-z 0-9 _ - . and never a public key's text, so an
  // allow-list entry is unambiguously one or the other.
  static bool valid_name(std::string_view name);
  // Every entry, ordered by key bytes.
  std::vector<TrustEntry> entries() const;

  // Re-reads the file if another process (or another TrustStore) changed it, so a
  // change takes effect without a restart. Cheap enough to call per query: it
  // looks at the file (stat) at most once per kReloadInterval and otherwise
  // returns at once. True if the contents were replaced. A file that became
  // malformed is a Config error, logged once, and the last good contents stay
  // in force; a deleted file empties the store. Always false in memory.
  NetworkResult<bool> reload_if_changed();
  // The same with the caller's clock (tests step it instead of sleeping).
  NetworkResult<bool> reload_if_changed(std::chrono::steady_clock::time_point now);
  // Re-reads the file now, whatever the clock or the file's stamp says, waiting for a
  // write in progress in this process: for a caller told that the file changed (the
  // running node, when `datafold trust set` asks it to), so the change holds for the
  // very next lookup. True if the contents were replaced (always, for a readable file).
  // A malformed file is a Config error and the last good contents stay, as above.
  // Always false in memory.
  NetworkResult<bool> reload();

  // The backing file; empty for an in-memory store.
  const std::filesystem::path& path() const noexcept;

  // The file format on its own, for tools and fuzzers. parse() gives a Config
  // error describing the first problem (without a file name).
  static NetworkResult<std::vector<TrustEntry>> parse(std::string_view json_text);
  static std::string serialize(const std::vector<TrustEntry>& entries);

 private:
  struct State;
  explicit TrustStore(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace datafold::net
