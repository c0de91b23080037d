// Checks the DHT test vectors in docs/PROTOCOL.md section 13 against the code:
// the two keys for a fixed node id and network name, and a value signed with a
// fixed key (Ed25519 signatures are deterministic, so the bytes are too). The
// document is the contract; when they disagree, the failure prints what the
// code produces.
#include "discovery/dht/dht_keys.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "discovery/dht/dht_value_checker.hpp"

#ifndef DATAFOLD_SOURCE_DIR
#error "DATAFOLD_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif

namespace datafold::net::discovery {
namespace {

constexpr const char* kProtocolDoc = DATAFOLD_SOURCE_DIR "/docs/PROTOCOL.md";

// RFC 8032 section 7.1 test 1's private key (public, like the RFC), as PKCS#8;
// its public key and node id are those of PROTOCOL.md section 2.
constexpr const char* kRfcKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr const char* kNodeIdHex = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9";
constexpr std::int64_t kTimestamp = 1'700'000'000'000;

std::string to_hex_block(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (i > 0) out += (i % 16 == 0) ? '\n' : ' ';
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string as_string(const DhtKey& key) { return {key.begin(), key.end()}; }

NodeId vector_node_id() {
  std::array<std::uint8_t, NodeId::kSize> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::uint8_t>(std::stoi(std::string(kNodeIdHex + 2 * i, 2), nullptr, 16));
  return NodeId{bytes};
}

AnnouncementFields vector_fields() {
  AnnouncementFields f;
  f.tcp_port = 9000;
  f.addresses = {"203.0.113.7", "[2001:db8::7]:9000"};
  f.capabilities = {true, true};
  f.min_version = 1;
  f.max_version = 1;
  f.network_name = "datafold";
  std::array<std::uint8_t, Uuid::kSize> instance{};
  instance.fill(0x11);
  instance[6] = 0x41;
  instance[8] = 0x81;
  f.instance_id = Uuid{instance};
  f.sequence = 1;
  f.timestamp_ms = kTimestamp;
  f.ttl_seconds = 900;
  return f;
}

// What each vector must hold, computed by the code.
std::map<std::string, std::string> expected_vectors() {
  auto identity = Identity::from_pem(kRfcKeyPem);
  EXPECT_TRUE(identity.ok());
  if (!identity.ok()) return {};
  EXPECT_EQ(identity->node_id(), vector_node_id());
  return {
      {"node-key", as_string(dht_node_key(vector_node_id()))},
      {"network-key", as_string(dht_network_key("datafold"))},
      {"value", sign_announcement(vector_fields(), *identity)},
  };
}

struct DocVector {
  std::string bytes;
  int line = 0;
  int count = 0;
};

// Every fenced block opened with ```dht-hex: a "name: <name>" line, then bytes
// as hex (whitespace ignored). The info string differs from section 12's "hex",
// so each test reads only its own vectors.
std::map<std::string, DocVector> read_doc_vectors(std::string& error, std::string& doc_text) {
  std::ifstream in(kProtocolDoc);
  if (!in) {
    error = std::string("cannot open ") + kProtocolDoc;
    return {};
  }
  std::map<std::string, DocVector> out;
  std::string line, name, hex;
  int line_no = 0, start = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    ++line_no;
    doc_text += line + "\n";
    if (!inside) {
      if (line == "```dht-hex") {
        inside = true;
        start = line_no;
        name.clear();
        hex.clear();
      }
      continue;
    }
    if (line.rfind("```", 0) == 0) {
      inside = false;
      DocVector& v = out[name];
      ++v.count;
      v.line = start;
      v.bytes.clear();
      if (hex.size() % 2 != 0) error += "odd hex digit count in block at line " + std::to_string(start) + "\n";
      for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        v.bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
      continue;
    }
    if (line.rfind("name:", 0) == 0) {
      std::istringstream words(line.substr(5));
      words >> name;
      continue;
    }
    for (char c : line) {
      if (std::isxdigit(static_cast<unsigned char>(c)))
        hex += c;
      else if (!std::isspace(static_cast<unsigned char>(c)))
        error += "unexpected '" + std::string(1, c) + "' at line " + std::to_string(line_no) + "\n";
    }
  }
  if (inside) error += "unterminated dht-hex block at line " + std::to_string(start) + "\n";
  return out;
}

TEST(DhtVectors, DocumentHoldsEachVectorAsTheCodeComputesIt) {
  std::string error, doc;
  const auto in_doc = read_doc_vectors(error, doc);
  ASSERT_TRUE(error.empty()) << error;
  const auto expected = expected_vectors();
  ASSERT_EQ(expected.size(), 3u);
  for (const auto& [name, bytes] : expected) {
    const auto it = in_doc.find(name);
    const std::string block = "```dht-hex\nname: " + name + "\n" + to_hex_block(bytes) + "\n```";
    if (it == in_doc.end()) {
      ADD_FAILURE() << "docs/PROTOCOL.md lacks vector '" << name << "'; the code gives:\n" << block;
      continue;
    }
    EXPECT_EQ(it->second.count, 1) << "vector '" << name << "' appears more than once";
    EXPECT_EQ(to_hex_block(it->second.bytes), to_hex_block(bytes))
        << "vector '" << name << "' at line " << it->second.line << "; the code gives:\n" << block;
  }
  EXPECT_EQ(in_doc.size(), expected.size()) << "docs/PROTOCOL.md has a dht-hex vector this test does not know";
  // The texts the keys hash are spelled out too.
  EXPECT_NE(doc.find(dht_node_key_text(vector_node_id())), std::string::npos)
      << "docs/PROTOCOL.md should state the node key text " << dht_node_key_text(vector_node_id());
  EXPECT_NE(doc.find("`datafold/network/v1/datafold`"), std::string::npos);
}

TEST(DhtVectors, TheDocumentsValueIsBelievedUnderBothKeys) {
  std::string error, doc;
  const auto in_doc = read_doc_vectors(error, doc);
  ASSERT_TRUE(error.empty()) << error;
  const auto it = in_doc.find("value");
  ASSERT_TRUE(it != in_doc.end());
  const std::string& value = it->second.bytes;
  const std::span<const std::uint8_t> bytes{reinterpret_cast<const std::uint8_t*>(value.data()), value.size()};

  const DatagramParse parsed = verify_signed_announcement(bytes);
  ASSERT_TRUE(parsed.ok()) << to_string(parsed.error);
  AnnouncementFields want = vector_fields();
  want.node_id = vector_node_id();
  want.public_key = parsed.fields.public_key;
  EXPECT_EQ(parsed.fields, want);

  DhtValueChecker checker{DhtCheckerConfig{"datafold"}};
  EXPECT_EQ(checker.examine(bytes, DhtKeyRef::node(vector_node_id()), kTimestamp).verdict, DhtVerdict::Accepted);
  EXPECT_EQ(checker.examine(bytes, DhtKeyRef::network(), kTimestamp).verdict, DhtVerdict::Accepted);
  // 900 s of ttl plus 60 s of skew later it is stale.
  EXPECT_EQ(checker.examine(bytes, DhtKeyRef::network(), kTimestamp + 960'001).verdict, DhtVerdict::Stale);
}

}  // namespace
}  // namespace datafold::net::discovery
