// TrustStore: persistence, atomic rewrites, malformed files, and changes made
// by another instance (as `datafold trust set` in another process would).
#include "datafold/net/trust_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "datafold/net/identity.hpp"
#include "datafold/net/json.hpp"
#include "datafold/net/uuid.hpp"

namespace datafold::net {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

PublicKey new_key() { return Identity::generate()->public_key(); }

class TrustStoreFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("datafold-trust-test-" + Uuid::random().to_string());
    fs::create_directories(dir_);
    file_ = dir_ / "data" / "trust.json";  // parent created on first write
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write_raw(const std::string& text) {
    fs::create_directories(file_.parent_path());
    std::ofstream(file_, std::ios::binary | std::ios::trunc) << text;
  }
  std::string read_raw() const {
    std::ifstream in(file_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Files in the store's directory other than the store and its lock file.
  std::vector<std::string> stray_files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(file_.parent_path())) {
      const auto name = e.path().filename().string();
      if (name != "trust.json" && name != "trust.json.lock") out.push_back(name);
    }
    return out;
  }
  TrustStore open_ok() {
    auto store = TrustStore::open(file_);
    EXPECT_TRUE(store) << store.error().to_string();
    return std::move(store).value();
  }
  // The Config error message opening `text` gives (empty if it opened).
  std::string open_error(const std::string& text) {
    write_raw(text);
    auto store = TrustStore::open(file_);
    if (store) return "";
    EXPECT_EQ(store.error().kind, ErrorKind::Config);
    EXPECT_NE(store.error().message.find(file_.string()), std::string::npos)
        << "error does not name the file: " << store.error().message;
    return store.error().message;
  }

  fs::path dir_;
  fs::path file_;
};

TEST(TrustStore, InMemoryStoreSetsGetsAndRemoves) {
  TrustStore store;
  const PublicKey a = new_key();
  const PublicKey b = new_key();
  EXPECT_TRUE(store.path().empty());
  EXPECT_FALSE(store.get(a));
  ASSERT_TRUE(store.set(a, 3, "alice"));
  ASSERT_TRUE(store.set(b, 0));
  EXPECT_EQ(store.get(a), 3u);
  EXPECT_EQ(store.get(b), 0u);
  ASSERT_TRUE(store.set(a, 5));  // nullopt note keeps "alice"
  EXPECT_EQ(store.get(a), 5u);
  auto entries = store.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_LT(entries[0].public_key, entries[1].public_key);
  const auto& alice = entries[0].public_key == a ? entries[0] : entries[1];
  EXPECT_EQ(alice.note, "alice");
  auto removed = store.remove(a);
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  auto again = store.remove(a);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_FALSE(store.get(a));
  EXPECT_EQ(store.reload_if_changed().value(), false);
  EXPECT_FALSE(store.set(b, 1, std::string("bad \xff note")));  // not UTF-8
}

TEST_F(TrustStoreFile, MissingFileIsAnEmptyStoreAndNothingIsCreatedUntilAChange) {
  TrustStore store = open_ok();
  EXPECT_TRUE(store.entries().empty());
  EXPECT_FALSE(fs::exists(file_));
  ASSERT_TRUE(store.set(new_key(), 1));
  EXPECT_TRUE(fs::exists(file_));
}

TEST_F(TrustStoreFile, ChangesPersistAcrossOpens) {
  const PublicKey a = new_key();
  const PublicKey b = new_key();
  {
    TrustStore store = open_ok();
    ASSERT_TRUE(store.set(a, 2, "alice \"the\" friend \xc3\xa9"));
    ASSERT_TRUE(store.set(b, 4294967295u));
    ASSERT_TRUE(store.set(new_key(), 7));
  }
  {
    TrustStore store = open_ok();
    EXPECT_EQ(store.get(a), 2u);
    EXPECT_EQ(store.get(b), 4294967295u);
    EXPECT_EQ(store.entries().size(), 3u);
    EXPECT_EQ(store.entries(), TrustStore::parse(read_raw()).value());
    auto removed = store.remove(b);
    ASSERT_TRUE(removed && *removed);
  }
  TrustStore store = open_ok();
  EXPECT_FALSE(store.get(b));
  ASSERT_EQ(store.entries().size(), 2u);
  for (const auto& e : store.entries()) {
    if (e.public_key == a) {
      EXPECT_EQ(e.note, "alice \"the\" friend \xc3\xa9");
    }
  }
}

TEST_F(TrustStoreFile, TheFileIsTheDocumentedJson) {
  TrustStore store = open_ok();
  const PublicKey a = new_key();
  ASSERT_TRUE(store.set(a, 3, "note"));
  const Json doc = Json::parse(read_raw());
  EXPECT_EQ(doc["version"], 1);
  ASSERT_EQ(doc["entries"].size(), 1u);
  EXPECT_EQ(doc["entries"][0]["public_key"], a.to_string());
  EXPECT_EQ(doc["entries"][0]["distance"], 3);
  EXPECT_EQ(doc["entries"][0]["note"], "note");
  // Same contents, same bytes.
  EXPECT_EQ(TrustStore::serialize(store.entries()), read_raw());
}

TEST_F(TrustStoreFile, ANameIsOneKeysAndSurvivesTheFile) {
  const PublicKey a = new_key();
  const PublicKey b = new_key();
  {
    TrustStore store = open_ok();
    ASSERT_TRUE(store.set(a, 2, std::nullopt, "trusted_service_key"));
    EXPECT_EQ(store.key_named("trusted_service_key"), a);
    EXPECT_FALSE(store.key_named("warehouse_manager_key"));
    EXPECT_FALSE(store.key_named(""));
    // Another key may not take it; nothing changes.
    auto taken = store.set(b, 1, std::nullopt, "trusted_service_key");
    ASSERT_FALSE(taken);
    EXPECT_NE(taken.error().message.find("already the name of " + a.to_string()), std::string::npos);
    EXPECT_FALSE(store.get(b));
    // Not names: a space, too long, not ASCII, a public key's text, a quote.
    for (const std::string& bad : {std::string("a b"), std::string(65, 'n'), std::string("caf\xc3\xa9"), b.to_string(), std::string("x\"y")})
      EXPECT_FALSE(store.set(b, 1, std::nullopt, bad)) << bad;
    // Setting the distance alone keeps the name; "" clears it.
    ASSERT_TRUE(store.set(a, 3));
    EXPECT_EQ(store.key_named("trusted_service_key"), a);
  }
  const Json doc = Json::parse(read_raw());
  EXPECT_EQ(doc["entries"][0]["name"], "trusted_service_key");
  TrustStore store = open_ok();
  EXPECT_EQ(store.key_named("trusted_service_key"), a);
  ASSERT_TRUE(store.set(a, 3, std::nullopt, ""));
  EXPECT_FALSE(store.key_named("trusted_service_key"));
  EXPECT_FALSE(Json::parse(read_raw())["entries"][0].contains("name"));

  // A file naming two keys alike, or with a name that is none, is refused saying where.
  const std::string twice = "{\"version\": 1, \"entries\": [{\"public_key\": \"" + a.to_string() +
                            "\", \"distance\": 1, \"name\": \"n\"}, {\"public_key\": \"" + b.to_string() +
                            "\", \"distance\": 1, \"name\": \"n\"}]}";
  auto refused = TrustStore::parse(twice);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("entries[1].name 'n' repeats entries[0]"), std::string::npos)
      << refused.error().message;
  const std::string odd = "{\"version\": 1, \"entries\": [{\"public_key\": \"" + a.to_string() +
                          "\", \"distance\": 1, \"name\": 7}]}";
  EXPECT_FALSE(TrustStore::parse(odd));
}

TEST_F(TrustStoreFile, RewritesReplaceTheFileAtomically) {
  TrustStore store = open_ok();
  ASSERT_TRUE(store.set(new_key(), 1));
  struct stat before {};
  ASSERT_EQ(::stat(file_.c_str(), &before), 0);
  ASSERT_TRUE(store.set(new_key(), 2));
  struct stat after {};
  ASSERT_EQ(::stat(file_.c_str(), &after), 0);
  // A new inode: the old file was replaced by rename, never rewritten in place,
  // so a concurrent reader holds either the old bytes or the new ones.
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_EQ(after.st_mode & 0777, 0644u);
  EXPECT_TRUE(stray_files().empty()) << "left behind: " << stray_files().front();
}

TEST_F(TrustStoreFile, AFailedWriteChangesNeitherFileNorMemory) {
  // A name the store file can have but its temp file cannot (NAME_MAX is 255):
  // the write fails after the file was read, at the point a full disk would.
  const fs::path file = dir_ / std::string(220, 'x');
  const PublicKey a = new_key();
  const std::string original = TrustStore::serialize({{a, 1, ""}});
  std::ofstream(file, std::ios::binary) << original;
  auto opened = TrustStore::open(file);
  ASSERT_TRUE(opened) << opened.error().to_string();
  TrustStore store = std::move(opened).value();

  auto failed = store.set(a, 9);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::Config);
  EXPECT_NE(failed.error().message.find(file.string()), std::string::npos) << failed.error().message;
  EXPECT_EQ(store.get(a), 1u);
  std::ifstream in(file, std::ios::binary);
  std::stringstream now;
  now << in.rdbuf();
  EXPECT_EQ(now.str(), original);
  for (const auto& e : fs::directory_iterator(dir_)) {
    const auto name = e.path().filename().string();
    EXPECT_TRUE(name == file.filename().string() || name == file.filename().string() + ".lock") << name;
  }
}

TEST_F(TrustStoreFile, MalformedFilesAreConfigErrorsNamingFileAndProblem) {
  const std::string key = new_key().to_string();
  struct Case {
    std::string text;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"{\"version\": 1, \"entries\": [", "not valid JSON"},
      {"", "not valid JSON"},
      {"[]", "top level"},
      {"{\"entries\": []}", "\"version\" is missing"},
      {"{\"version\": 2, \"entries\": []}", "unsupported version 2"},
      {"{\"version\": 1}", "\"entries\" is missing"},
      {"{\"version\": 1, \"entries\": {}}", "\"entries\" must be an array"},
      {"{\"version\": 1, \"entries\": [7]}", "entries[0] must be an object"},
      {"{\"version\": 1, \"entries\": [{\"distance\": 1}]}", "entries[0].public_key is missing"},
      {"{\"version\": 1, \"entries\": [{\"public_key\": \"abc\", \"distance\": 1}]}",
       "entries[0].public_key is not a base64 Ed25519 public key"},
      {"{\"version\": 1, \"entries\": [{\"public_key\": \"" + key + "\"}]}", "entries[0].distance is missing"},
      {"{\"version\": 1, \"entries\": [{\"public_key\": \"" + key + "\", \"distance\": -1}]}",
       "entries[0].distance must be an integer 0..4294967295"},
      {"{\"version\": 1, \"entries\": [{\"public_key\": \"" + key + "\", \"distance\": 4294967296}]}",
       "entries[0].distance must be an integer"},
      {"{\"version\": 1, \"entries\": [{\"public_key\": \"" + key + "\", \"distance\": 1.5}]}",
       "entries[0].distance must be an integer"},
      {"{\"version\": 1, \"entries\": [{\"public_key\": \"" + key + "\", \"distance\": \"1\"}]}",
       "entries[0].distance must be an integer"},
      {"{\"version\": 1, \"entries\": [{\"public_key\": \"" + key + "\", \"distance\": 1, \"note\": 5}]}",
       "entries[0].note must be a string"},
      {"{\"version\": 1, \"entries\": [{\"public_key\": \"" + key + "\", \"distance\": 1}, {\"public_key\": \"" +
           key + "\", \"distance\": 2}]}",
       "entries[1].public_key " + key + " repeats entries[0]"},
      {std::string(100'000, '[') + std::string(100'000, ']'), "top level"},
  };
  for (const auto& c : cases) {
    const std::string message = open_error(c.text);
    EXPECT_NE(message.find(c.problem), std::string::npos)
        << "for " << c.text.substr(0, 120) << "\n  expected: " << c.problem << "\n  got: " << message;
  }
  // Unknown keys are accepted (a newer writer may add some), null note is no note.
  EXPECT_EQ(open_error("{\"version\": 1, \"future\": true, \"entries\": [{\"public_key\": \"" + key +
                       "\", \"distance\": 0, \"note\": null, \"added\": \"2024\"}]}"),
            "");
}

TEST_F(TrustStoreFile, OversizeFileIsRefused) {
  write_raw(std::string(TrustStore::kMaxFileBytes + 1, ' '));
  auto store = TrustStore::open(file_);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("larger than"), std::string::npos) << store.error().message;
}

TEST_F(TrustStoreFile, AnotherInstancesChangeIsSeenByReloadIfChanged) {
  TrustStore node = open_ok();  // the running node
  TrustStore cli = open_ok();   // `datafold trust set` in another process
  const PublicKey a = new_key();
  auto t = std::chrono::steady_clock::now();
  EXPECT_EQ(node.reload_if_changed(t).value(), false);  // nothing changed yet

  ASSERT_TRUE(cli.set(a, 3));
  EXPECT_FALSE(node.get(a));
  // Throttled: within kReloadInterval of the last look, the file is not even stat'ed.
  EXPECT_EQ(node.reload_if_changed(t + TrustStore::kReloadInterval / 2).value(), false);
  EXPECT_FALSE(node.get(a));
  t += TrustStore::kReloadInterval;
  EXPECT_EQ(node.reload_if_changed(t).value(), true);
  EXPECT_EQ(node.get(a), 3u);
  t += TrustStore::kReloadInterval;
  EXPECT_EQ(node.reload_if_changed(t).value(), false);  // no change since

  // Two changes within one mtime tick are still told apart (the inode changes).
  ASSERT_TRUE(cli.set(a, 4));
  ASSERT_TRUE(cli.set(a, 5));
  t += TrustStore::kReloadInterval;
  EXPECT_EQ(node.reload_if_changed(t).value(), true);
  EXPECT_EQ(node.get(a), 5u);

  ASSERT_TRUE(cli.remove(a).value());
  t += TrustStore::kReloadInterval;
  EXPECT_EQ(node.reload_if_changed(t).value(), true);
  EXPECT_FALSE(node.get(a));

  // The real clock works too, without a caller-supplied time.
  ASSERT_TRUE(cli.set(a, 6));
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!node.get(a) && std::chrono::steady_clock::now() < until) {
    (void)node.reload_if_changed();
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(node.get(a), 6u);
}

// What the running node does when `datafold trust set` tells it the file changed: the
// change holds at once, not after the next kReloadInterval.
TEST_F(TrustStoreFile, ReloadReadsAChangeAtOnceWhateverTheThrottle) {
  TrustStore node = open_ok();
  TrustStore cli = open_ok();
  const PublicKey a = new_key();
  const auto t = std::chrono::steady_clock::now();
  EXPECT_EQ(node.reload_if_changed(t).value(), false);  // the throttle's clock starts

  ASSERT_TRUE(cli.set(a, 2));
  EXPECT_EQ(node.reload_if_changed(t).value(), false);  // throttled
  EXPECT_EQ(node.reload().value(), true);
  EXPECT_EQ(node.get(a), 2u);

  ASSERT_TRUE(cli.remove(a).value());
  EXPECT_EQ(node.reload().value(), true);
  EXPECT_FALSE(node.get(a));

  // A malformed file is an error naming it, and the last good contents stay.
  ASSERT_TRUE(cli.set(a, 7));
  ASSERT_TRUE(node.reload());
  write_raw("{\"version\": 1, \"entries\": [");
  auto broken = node.reload();
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().kind, ErrorKind::Config);
  EXPECT_NE(broken.error().message.find(file_.string()), std::string::npos) << broken.error().message;
  EXPECT_EQ(node.get(a), 7u);

  TrustStore in_memory;
  EXPECT_EQ(in_memory.reload().value(), false);
}

TEST_F(TrustStoreFile, WritersMergeRatherThanUndoEachOther) {
  TrustStore one = open_ok();
  TrustStore two = open_ok();  // opened before one's change: its memory is stale
  const PublicKey a = new_key();
  const PublicKey b = new_key();
  ASSERT_TRUE(one.set(a, 1));
  ASSERT_TRUE(two.set(b, 2));  // must not drop a
  TrustStore fresh = open_ok();
  EXPECT_EQ(fresh.get(a), 1u);
  EXPECT_EQ(fresh.get(b), 2u);
  EXPECT_EQ(two.get(a), 1u);  // the writer caught up while it was at it
}

TEST_F(TrustStoreFile, AMalformedEditKeepsTheLastGoodContents) {
  TrustStore store = open_ok();
  const PublicKey a = new_key();
  ASSERT_TRUE(store.set(a, 2));
  write_raw("{\"version\": 1, \"entries\": [{\"public_key\": \"oops\"");
  auto t = std::chrono::steady_clock::now() + 1h;
  auto reloaded = store.reload_if_changed(t);
  ASSERT_FALSE(reloaded);
  EXPECT_EQ(reloaded.error().kind, ErrorKind::Config);
  EXPECT_NE(reloaded.error().message.find(file_.string()), std::string::npos);
  EXPECT_EQ(store.get(a), 2u);
  // A writer refuses to overwrite a file a person is halfway through editing.
  EXPECT_FALSE(store.set(new_key(), 1));
  // Fixed: picked up on the next look.
  write_raw(TrustStore::serialize({{a, 8, ""}}));
  t += TrustStore::kReloadInterval;
  EXPECT_EQ(store.reload_if_changed(t).value(), true);
  EXPECT_EQ(store.get(a), 8u);
}

TEST_F(TrustStoreFile, ADeletedFileEmptiesTheStore) {
  TrustStore store = open_ok();
  ASSERT_TRUE(store.set(new_key(), 2));
  fs::remove(file_);
  EXPECT_EQ(store.reload_if_changed(std::chrono::steady_clock::now() + 1h).value(), true);
  EXPECT_TRUE(store.entries().empty());
}

TEST_F(TrustStoreFile, ConcurrentReadersAndWritersAgree) {
  TrustStore store = open_ok();
  std::vector<PublicKey> keys;
  for (int i = 0; i < 8; ++i) keys.push_back(new_key());
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      for (const auto& k : keys) (void)store.get(k);
      (void)store.reload_if_changed();
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 2; ++i) {
        auto k = keys[static_cast<std::size_t>(w * 2 + i)];
        EXPECT_TRUE(store.set(k, static_cast<std::uint32_t>(w * 10 + i)));
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  TrustStore fresh = open_ok();
  EXPECT_EQ(fresh.entries().size(), keys.size());
  EXPECT_EQ(fresh.entries(), store.entries());
}

}  // namespace
}  // namespace datafold::net
