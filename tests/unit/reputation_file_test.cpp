// The reputation file: what is written reads back the same, mode 0600, a damaged
// line costs only itself, a missing file is empty, a huge one is refused.
#include "peers/reputation_file.hpp"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A directory of its own, removed at the end.
class ScratchDir {
 public:
  ScratchDir() : path_(fs::temp_directory_path() / ("datafold-reputation-test-" + Uuid::random().to_string())) {
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

NodeId file_node(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes;
  bytes.fill(n);
  return NodeId(bytes);
}

const Reputation::Clock::time_point t0 =
    Reputation::Clock::time_point{} + std::chrono::milliseconds(1'798'000'000'000);

Reputation sample() {
  Reputation reputation;
  for (int i = 0; i < 6; ++i) reputation.record(PeerEvent::ProtocolViolation, file_node(1), "10.0.0.1", false, t0);
  reputation.record(PeerEvent::AnsweredRequest, file_node(2), "2001:db8:1:2::5", false, t0);
  reputation.record(PeerEvent::Timeout, file_node(3), "2001:db8:1:3::5", false, t0);
  return reputation;
}

void expect_same(const std::vector<Reputation::Entry>& a, const std::vector<Reputation::Entry>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].subject, b[i].subject);
    EXPECT_EQ(a[i].is_node, b[i].is_node);
    EXPECT_DOUBLE_EQ(a[i].score, b[i].score);
    EXPECT_EQ(a[i].updated, b[i].updated);
    EXPECT_EQ(a[i].banned_until, b[i].banned_until);
  }
}

TEST(ReputationFile, WhatIsSavedLoadsBackTheSameWithModeSixHundredAndTheBanHolds) {
  ScratchDir dir;
  const auto path = dir.path() / "reputation";
  const auto before = sample();
  ASSERT_TRUE(save_reputation_file(path, before.entries()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto loaded = load_reputation_file(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_EQ(loaded->skipped_lines, 0u);
  expect_same(loaded->entries, before.entries());
  Reputation after;
  after.restore(loaded->entries, t0 + 1s);
  EXPECT_EQ(after.state(file_node(1), "10.0.0.1", false, t0 + 1s), PeerState::Banned);
  EXPECT_EQ(after.state(file_node(9), "10.0.0.1", false, t0 + 1s), PeerState::Banned);  // a new key, same IP
}

TEST(ReputationFile, ADamagedLineIsSkippedAndCountedTheRestIsKept) {
  auto text = serialize_reputation(sample().entries());
  text += "node notanid 1 2 -\nip 10.0.0.300 1 2 -\nip 2001:db8:1:2::7/64 1 2 -\nnode " + file_node(4).to_string() +
          " nan 2 -\nnode " + file_node(5).to_string() + " 1 99999999999999999 -\ngarbage\n";
  const auto parsed = parse_reputation(text);
  EXPECT_EQ(parsed.skipped_lines, 6u);
  expect_same(parsed.entries, sample().entries());
}

TEST(ReputationFile, AMissingFileIsEmptyAndAHugeOneIsRefused) {
  ScratchDir dir;
  auto missing = load_reputation_file(dir.path() / "none");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->entries.empty());
  const auto huge = dir.path() / "huge";
  std::ofstream(huge) << std::string(kMaxReputationFileBytes + 1, '#');
  auto refused = load_reputation_file(huge);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::Config);
  EXPECT_NE(refused.error().message.find("larger than"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace datafold::net::detail
