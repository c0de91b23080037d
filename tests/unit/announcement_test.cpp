#include "discovery/announcement.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "datafold.pb.h"

namespace datafold::net::discovery {
namespace {

Identity new_identity() {
  auto identity = Identity::generate();
  EXPECT_TRUE(identity.ok());
  return std::move(identity).value();
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

AnnouncementFields sample_fields() {
  AnnouncementFields f;
  f.tcp_port = 9000;
  f.addresses = {"0.0.0.0", "192.168.1.7:9100", "[fe80::1]:9000"};
  f.capabilities = {true, false};
  f.min_version = 1;
  f.max_version = 3;
  f.network_name = "lab";
  f.instance_id = Uuid::random();
  f.sequence = 42;
  f.timestamp_ms = 1'700'000'000'123;
  f.ttl_seconds = 90;
  return f;
}

// A SignedAnnouncement built by hand, so tests can sign what the encoder would refuse to.
std::string hand_signed(const wire::NodeAnnouncement& a, const Identity& signer) {
  wire::SignedAnnouncement s;
  a.SerializeToString(s.mutable_announcement());
  const auto signature = signer.sign(bytes_of(s.announcement()));
  s.set_signature(signature.data(), signature.size());
  return s.SerializeAsString();
}

wire::NodeAnnouncement wire_announcement(const Identity& id) {
  wire::NodeAnnouncement a;
  a.set_node_id(id.node_id().bytes().data(), NodeId::kSize);
  a.set_public_key(id.public_key().bytes().data(), PublicKey::kSize);
  a.set_tcp_port(9000);
  a.set_network_name("lab");
  const Uuid instance = Uuid::random();
  a.set_instance_id(instance.bytes().data(), Uuid::kSize);
  a.set_sequence(1);
  a.set_timestamp_ms(1'700'000'000'000);
  a.set_ttl_seconds(90);
  return a;
}

class AnnouncementTest : public ::testing::Test {
 protected:
  Identity alice_ = new_identity();
  Identity mallory_ = new_identity();
};

TEST_F(AnnouncementTest, RoundTripCarriesEveryFieldAndTheSignersIdentity) {
  AnnouncementFields f = sample_fields();
  const std::string datagram = encode_datagram(f, alice_);

  const DatagramParse parsed = parse_datagram(bytes_of(datagram));
  ASSERT_TRUE(parsed.ok()) << to_string(parsed.error);
  EXPECT_EQ(parsed.kind, DatagramKind::Announcement);
  f.node_id = alice_.node_id();
  f.public_key = alice_.public_key();
  EXPECT_EQ(parsed.fields, f);
}

TEST_F(AnnouncementTest, EncoderWritesTheIdentityNotTheFieldsClaim) {
  AnnouncementFields f = sample_fields();
  f.node_id = mallory_.node_id();
  f.public_key = mallory_.public_key();
  const DatagramParse parsed = parse_datagram(bytes_of(encode_datagram(f, alice_)));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.fields.node_id, alice_.node_id());
  EXPECT_EQ(parsed.fields.public_key, alice_.public_key());
}

TEST_F(AnnouncementTest, HeaderIsMagicThenVersion) {
  const std::string announcement = encode_datagram(sample_fields(), alice_);
  const std::string probe = encode_datagram(sample_fields(), alice_, DatagramKind::Probe);
  EXPECT_EQ(announcement.substr(0, 5), std::string("DFLD\x01", 5));
  EXPECT_EQ(probe.substr(0, 5), std::string("DFLP\x01", 5));

  const DatagramParse parsed = parse_datagram(bytes_of(probe));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.kind, DatagramKind::Probe);
}

TEST_F(AnnouncementTest, SignedAnnouncementVerifiesWithoutHeader) {
  const std::string signed_bytes = sign_announcement(sample_fields(), alice_);
  const DatagramParse parsed = verify_signed_announcement(bytes_of(signed_bytes));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.fields.node_id, alice_.node_id());
  EXPECT_EQ(frame_datagram(DatagramKind::Announcement, signed_bytes).substr(5), signed_bytes);
}

TEST_F(AnnouncementTest, OversizeIsRejectedBeforeParsing) {
  std::string datagram = encode_datagram(sample_fields(), alice_);
  datagram.resize(kMaxDatagramBytes + 1, '\0');
  EXPECT_EQ(parse_datagram(bytes_of(datagram)).error, ParseError::TooLarge);

  // At the limit it is parsed (and here found malformed: trailing zero bytes are field 0).
  datagram.resize(kMaxDatagramBytes);
  EXPECT_EQ(parse_datagram(bytes_of(datagram)).error, ParseError::Malformed);
}

TEST_F(AnnouncementTest, WrongMagicOrShortHeader) {
  const std::string good = encode_datagram(sample_fields(), alice_);
  EXPECT_EQ(parse_datagram({}).error, ParseError::BadMagic);
  EXPECT_EQ(parse_datagram(bytes_of(std::string("DFLD"))).error, ParseError::BadMagic);
  EXPECT_EQ(parse_datagram(bytes_of("XFLD" + good.substr(4))).error, ParseError::BadMagic);
  EXPECT_EQ(parse_datagram(bytes_of("dfld" + good.substr(4))).error, ParseError::BadMagic);
}

TEST_F(AnnouncementTest, UnknownVersion) {
  std::string datagram = encode_datagram(sample_fields(), alice_);
  datagram[4] = 2;
  EXPECT_EQ(parse_datagram(bytes_of(datagram)).error, ParseError::BadVersion);
  datagram[4] = 0;
  EXPECT_EQ(parse_datagram(bytes_of(datagram)).error, ParseError::BadVersion);
}

TEST_F(AnnouncementTest, MalformedBodies) {
  // Not protobuf at all.
  EXPECT_EQ(parse_datagram(bytes_of(frame_datagram(DatagramKind::Announcement, "\xff\xff\xff"))).error,
            ParseError::Malformed);
  // Empty SignedAnnouncement: no signature.
  EXPECT_EQ(parse_datagram(bytes_of(frame_datagram(DatagramKind::Announcement, ""))).error,
            ParseError::Malformed);

  struct Case {
    const char* what;
    void (*mutate)(wire::NodeAnnouncement&);
  };
  const Case cases[] = {
      {"short key", [](wire::NodeAnnouncement& a) { a.mutable_public_key()->pop_back(); }},
      {"long id", [](wire::NodeAnnouncement& a) { a.mutable_node_id()->push_back('x'); }},
      {"short instance", [](wire::NodeAnnouncement& a) { a.set_instance_id("abc"); }},
      {"port over 65535", [](wire::NodeAnnouncement& a) { a.set_tcp_port(65536); }},
      {"too many addresses",
       [](wire::NodeAnnouncement& a) {
         for (std::size_t i = 0; i <= kMaxAddresses; ++i) a.add_addresses("10.0.0.1");
       }},
      {"long address", [](wire::NodeAnnouncement& a) { a.add_addresses(std::string(kMaxAddressLength + 1, '1')); }},
      {"long network name",
       [](wire::NodeAnnouncement& a) { a.set_network_name(std::string(kMaxNetworkNameLength + 1, 'n')); }},
  };
  for (const auto& c : cases) {
    wire::NodeAnnouncement a = wire_announcement(alice_);
    c.mutate(a);
    const std::string datagram = frame_datagram(DatagramKind::Announcement, hand_signed(a, alice_));
    EXPECT_EQ(parse_datagram(bytes_of(datagram)).error, ParseError::Malformed) << c.what;
  }

  // A signature of the wrong length.
  wire::SignedAnnouncement s;
  s.ParseFromString(hand_signed(wire_announcement(alice_), alice_));
  s.mutable_signature()->pop_back();
  EXPECT_EQ(parse_datagram(bytes_of(frame_datagram(DatagramKind::Announcement, s.SerializeAsString()))).error,
            ParseError::Malformed);
}

TEST_F(AnnouncementTest, HandBuiltValidAnnouncementParses) {
  // The control for the cases above and below: the hand-built form itself is fine.
  const std::string datagram =
      frame_datagram(DatagramKind::Announcement, hand_signed(wire_announcement(alice_), alice_));
  EXPECT_TRUE(parse_datagram(bytes_of(datagram)).ok());
}

TEST_F(AnnouncementTest, ForgedSignature) {
  // Alice's id and key, signed by Mallory.
  const std::string datagram =
      frame_datagram(DatagramKind::Announcement, hand_signed(wire_announcement(alice_), mallory_));
  EXPECT_EQ(parse_datagram(bytes_of(datagram)).error, ParseError::BadSignature);

  // Alice's real datagram with one bit of the signature flipped.
  wire::SignedAnnouncement s;
  s.ParseFromString(sign_announcement(sample_fields(), alice_));
  (*s.mutable_signature())[10] ^= 0x01;
  EXPECT_EQ(parse_datagram(bytes_of(frame_datagram(DatagramKind::Announcement, s.SerializeAsString()))).error,
            ParseError::BadSignature);

  // Alice's real datagram with the signed bytes changed (sequence bumped) after signing.
  s.ParseFromString(sign_announcement(sample_fields(), alice_));
  wire::NodeAnnouncement a;
  a.ParseFromString(s.announcement());
  a.set_sequence(a.sequence() + 1);
  a.SerializeToString(s.mutable_announcement());
  EXPECT_EQ(parse_datagram(bytes_of(frame_datagram(DatagramKind::Announcement, s.SerializeAsString()))).error,
            ParseError::BadSignature);
}

TEST_F(AnnouncementTest, IdThatIsNotTheHashOfTheKey) {
  // Mallory signs correctly with her own key but claims Alice's id.
  wire::NodeAnnouncement a = wire_announcement(mallory_);
  a.set_node_id(alice_.node_id().bytes().data(), NodeId::kSize);
  const std::string datagram = frame_datagram(DatagramKind::Announcement, hand_signed(a, mallory_));
  EXPECT_EQ(parse_datagram(bytes_of(datagram)).error, ParseError::IdMismatch);
}

TEST_F(AnnouncementTest, ARefusedIdIsDroppedBeforeItsSignatureIsChecked) {
  // Mallory's signature over Alice's announcement: a forgery, unless Alice is refused.
  wire::SignedAnnouncement s;
  s.ParseFromString(sign_announcement(sample_fields(), alice_));
  const auto signature = mallory_.sign(bytes_of(s.announcement()));
  s.set_signature(signature.data(), signature.size());
  const std::string datagram = frame_datagram(DatagramKind::Announcement, s.SerializeAsString());
  const RefuseNode refuse_alice = [&](const NodeId& id) { return id == alice_.node_id(); };
  EXPECT_EQ(parse_datagram(bytes_of(datagram)).error, ParseError::BadSignature);
  EXPECT_EQ(parse_datagram(bytes_of(datagram), refuse_alice).error, ParseError::Refused);
  // Genuine announcements of others pass the same filter.
  const std::string mallorys = encode_datagram(sample_fields(), mallory_);
  EXPECT_TRUE(parse_datagram(bytes_of(mallorys), refuse_alice).ok());
}

TEST_F(AnnouncementTest, StringFieldsMustBeUtf8) {
  // Raw field records appended to a valid body (a later singular value wins),
  // signed as they are, so only the UTF-8 check can reject them.
  auto datagram_with = [&](std::string_view record) {
    std::string body = wire_announcement(alice_).SerializeAsString();
    body.append(record);
    wire::SignedAnnouncement s;
    s.set_announcement(body);
    const auto signature = alice_.sign(bytes_of(body));
    s.set_signature(signature.data(), signature.size());
    return frame_datagram(DatagramKind::Announcement, s.SerializeAsString());
  };
  auto name_record = [](std::string_view value) {
    return std::string("\x42") + static_cast<char>(value.size()) + std::string(value);  // field 8, network_name
  };

  const DatagramParse good = parse_datagram(bytes_of(datagram_with(name_record("l\xc3\xa4" "b \xf0\x9f\x98\x80"))));
  ASSERT_TRUE(good.ok()) << to_string(good.error);
  EXPECT_EQ(good.fields.network_name, "l\xc3\xa4" "b \xf0\x9f\x98\x80");

  for (const std::string_view bad : {std::string_view("\xc3\x28"), std::string_view("\xc0\xaf"),
                                     std::string_view("\xed\xa0\x80"), std::string_view("\xf4\x90\x80\x80"),
                                     std::string_view("\xe2\x82"), std::string_view("\xff")}) {
    EXPECT_EQ(parse_datagram(bytes_of(datagram_with(name_record(bad)))).error, ParseError::Malformed);
  }
  // field 4, addresses
  EXPECT_EQ(parse_datagram(bytes_of(datagram_with(std::string("\x22\x02\xc3\x28", 4)))).error,
            ParseError::Malformed);
}

TEST_F(AnnouncementTest, EveryTruncationIsRejected) {
  const std::string datagram = encode_datagram(sample_fields(), alice_);
  for (std::size_t n = 0; n < datagram.size(); ++n) {
    EXPECT_FALSE(parse_datagram(bytes_of(datagram.substr(0, n))).ok()) << "length " << n;
  }
}

TEST_F(AnnouncementTest, EverySingleBitFlipIsRejected) {
  const std::string datagram = encode_datagram(sample_fields(), alice_);
  for (std::size_t i = 0; i < datagram.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = datagram;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      EXPECT_FALSE(parse_datagram(bytes_of(flipped)).ok()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(AnnouncementTest, EncoderDropsAddressesTheParserWouldRefuse) {
  AnnouncementFields f = sample_fields();
  f.addresses.clear();
  f.addresses.push_back(std::string(kMaxAddressLength + 1, '9'));
  for (std::size_t i = 0; i < kMaxAddresses + 5; ++i) f.addresses.push_back("10.0.0." + std::to_string(i));
  const DatagramParse parsed = parse_datagram(bytes_of(encode_datagram(f, alice_)));
  ASSERT_TRUE(parsed.ok()) << to_string(parsed.error);
  ASSERT_EQ(parsed.fields.addresses.size(), kMaxAddresses);
  EXPECT_EQ(parsed.fields.addresses.front(), "10.0.0.0");
}

}  // namespace
}  // namespace datafold::net::discovery
