// libFuzzer target for the trust store file (src/trust_store.cpp): each input is
// the file's contents, opened with TrustStore::open() as a node does at start,
// and reloaded into a store that already holds a good file, as a running node
// does when an operator edits the file.
//
// Invariants: open() accepts exactly what parse() accepts, with the same entries,
// and refuses the rest with a Config error naming the file; a store serializes
// to text that parses back to the same entries and serializes identically; a
// reload of a malformed file keeps the last good contents.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "datafold/net/trust_store.hpp"
#include "scratch_dir.hpp"

namespace {

using namespace datafold::net;
namespace fs = std::filesystem;

void check(bool ok) {
  if (!ok) std::abort();
}

void write_file(const fs::path& path, std::string_view contents) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  check(f != nullptr);
  check(std::fwrite(contents.data(), 1, contents.size(), f) == contents.size());
  check(std::fclose(f) == 0);
}

std::vector<TrustEntry> sorted(std::vector<TrustEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const TrustEntry& a, const TrustEntry& b) { return a.public_key < b.public_key; });
  return entries;
}

// A good file the reload test starts from: one key at distance 1.
constexpr std::string_view kGoodFile =
    R"({"version": 1, "entries": [{"public_key": "bZmHIanFOkQVQKRUyYOer1WoCjvjyf1CPeiF80JAXr4=", "distance": 1}]})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A malformed reload logs a warning; the fuzzer makes one per input.
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const fs::path file = datafold::fuzz::scratch_dir() / "trust.json";
  write_file(file, text);

  const auto parsed = TrustStore::parse(text);
  auto opened = TrustStore::open(file);
  check(parsed.ok() == opened.ok());
  if (!opened.ok()) {
    check(opened.error().kind == ErrorKind::Config);
    check(parsed.error().kind == ErrorKind::Config);
    check(opened.error().message.find(file.string()) != std::string::npos);
  } else {
    // The store holds what the file says (a key appears once: repeats are refused).
    const auto entries = opened->entries();
    check(entries == sorted(*parsed));
    for (const auto& e : entries) check(opened->get(e.public_key) == e.distance);

    // What the store would write reads back the same, and writes the same bytes.
    const std::string written = TrustStore::serialize(entries);
    const auto reread = TrustStore::parse(written);
    check(reread.ok() && sorted(*reread) == entries);
    check(TrustStore::serialize(*reread) == written);
  }

  // A running node's store, reloading after the operator replaced the file.
  const fs::path live = datafold::fuzz::scratch_dir() / "live.json";
  write_file(live, kGoodFile);
  auto store = TrustStore::open(live);
  check(store.ok());
  const auto good = store->entries();
  check(good.size() == 1);
  // Another inode, as an editor that writes a new file and renames it gives.
  write_file(datafold::fuzz::scratch_dir() / "live.json.new", text);
  fs::rename(datafold::fuzz::scratch_dir() / "live.json.new", live);
  // A fresh store looks at its file on the first call.
  const auto reloaded = store->reload_if_changed();
  if (parsed.ok()) {
    check(reloaded.ok() && *reloaded);
    check(store->entries() == sorted(*parsed));
  } else {
    check(!reloaded.ok() && reloaded.error().kind == ErrorKind::Config);
    check(store->entries() == good);
  }
  return 0;
}
