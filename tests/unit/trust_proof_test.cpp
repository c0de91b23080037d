// Trust proofs: the canonical bytes (a fixed vector), signatures over them, the
// replay cache, and QueryService's server-side rules driven without sockets and
// with a fake clock.
#include "services/trust_proof.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "datafold/net/identity.hpp"
#include "datafold/net/message_codec.hpp"
#include "datafold/net/query_service.hpp"
#include "core/encoding.hpp"

namespace datafold::net {
namespace {

// RFC 8032 section 7.1, test 1 (see identity_test.cpp for how it was made).
constexpr std::string_view kRfc8032Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

// docs/PROTOCOL.md 12.2's query, whose canonical bytes and signature below were
// computed independently of this code: the bytes with a 25-line Python script
// following the format in trust_proof.hpp, the signature with
//   openssl pkeyutl -sign -inkey rfc8032-test1.pem -rawin -in canonical.bin
constexpr std::string_view kVectorHex =
    "64617461666f6c642f74727573742d70726f6f662f7631002222222222224222"
    "82222222222222220000000b5573657250726f66696c65000000020000000875"
    "7365726e616d6500000005656d61696c0000002c3131715941594b7843726656"
    "532f3754795751484f6737686376506170694d6c727749616150634855526f3d"
    "0000000101070000000300000003616765070000000100000003677465020000"
    "000000000012000000046e616d650400000005616c6963650000000474616773"
    "0600000004040000000161010100033ff8000000000000000000010000018bcf"
    "e56800";
constexpr std::string_view kVectorSignatureHex =
    "68d94614b6609402315c62623fa8fbc782730fe5b5a081ab61461060971d9100"
    "84e00a11bf781b566243160ef9c275f67dc6fccbdbd35681965388d4b89eaa05";

Uuid vector_id() {
  std::array<std::uint8_t, 16> bytes{};
  bytes.fill(0x22);
  bytes[6] = 0x42;
  bytes[8] = 0x82;
  return Uuid(bytes);
}

Query vector_query() {
  Query q;
  q.schema_name = "UserProfile";
  q.fields = {"username", "email"};
  q.pub_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  q.trust_distance = 1;
  q.filter = Json::parse(R"({"age": {"gte": 18}, "name": "alice", "tags": ["a", true, null, 1.5]})");
  return q;
}

constexpr std::uint32_t kVectorClaim = 1;
constexpr std::int64_t kVectorTimestamp = 1'700'000'000'000;

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  auto bytes = detail::hex_decode(hex);
  EXPECT_TRUE(bytes) << "bad hex in the test itself";
  return bytes.value_or(std::vector<std::uint8_t>{});
}

Identity vector_identity() { return std::move(Identity::from_pem(kRfc8032Pem).value()); }

TEST(TrustProof, CanonicalBytesMatchTheFixedVector) {
  const auto bytes = detail::trust_proof_bytes(vector_id(), vector_query(), kVectorClaim, kVectorTimestamp);
  EXPECT_EQ(detail::hex_encode(bytes), detail::hex_encode(from_hex(kVectorHex)));
  EXPECT_EQ(bytes.size(), 227u);
}

TEST(TrustProof, SignatureMatchesTheFixedVectorAndVerifies) {
  const Identity identity = vector_identity();
  const TrustProof proof =
      make_trust_proof(identity, vector_id(), vector_query(), kVectorClaim, kVectorTimestamp, /*sign=*/true);
  EXPECT_EQ(proof.public_key, identity.public_key());
  EXPECT_EQ(proof.trust_distance, kVectorClaim);
  EXPECT_EQ(proof.timestamp_ms, kVectorTimestamp);
  EXPECT_EQ(detail::hex_encode(proof.signature), kVectorSignatureHex);
  EXPECT_TRUE(detail::verify_trust_proof(vector_id(), vector_query(), proof));
}

// The blocks of docs/PROTOCOL.md whose info string is `proof-hex`, by their "name:" line:
// the spec itself carries this vector, for implementers who never see this file.
std::map<std::string, std::string> spec_proof_blocks() {
  std::ifstream doc(DATAFOLD_SOURCE_DIR "/docs/PROTOCOL.md");
  std::map<std::string, std::string> blocks;
  std::string line, name, hex;
  bool inside = false;
  while (std::getline(doc, line)) {
    if (!inside) {
      inside = line == "```proof-hex";
      name.clear();
      hex.clear();
    } else if (line == "```") {
      inside = false;
      blocks[name] = hex;
    } else if (line.rfind("name: ", 0) == 0) {
      name = line.substr(6);
    } else {
      for (char c : line)
        if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
    }
  }
  return blocks;
}

TEST(TrustProof, TheSpecCarriesTheSignedBytesAndTheSignature) {
  const auto blocks = spec_proof_blocks();
  ASSERT_EQ(blocks.count("trust-proof-bytes"), 1u) << "PROTOCOL.md 7.2 lost its proof-hex block";
  ASSERT_EQ(blocks.count("trust-proof-signature"), 1u) << "PROTOCOL.md 7.2 lost its proof-hex block";
  const auto bytes = detail::trust_proof_bytes(vector_id(), vector_query(), kVectorClaim, kVectorTimestamp);
  EXPECT_EQ(blocks.at("trust-proof-bytes"), detail::hex_encode(bytes));
  const TrustProof proof =
      make_trust_proof(vector_identity(), vector_id(), vector_query(), kVectorClaim, kVectorTimestamp, /*sign=*/true);
  EXPECT_EQ(blocks.at("trust-proof-signature"), detail::hex_encode(proof.signature));
}

TEST(TrustProof, UnsignedProofCarriesNoSignatureAndDoesNotVerify) {
  const TrustProof proof =
      make_trust_proof(vector_identity(), vector_id(), vector_query(), 3, kVectorTimestamp, /*sign=*/false);
  EXPECT_TRUE(proof.signature.empty());
  EXPECT_EQ(proof.trust_distance, 3u);
  EXPECT_FALSE(detail::verify_trust_proof(vector_id(), vector_query(), proof));
}

TEST(TrustProof, AnyChangeToIdQueryOrTimestampBreaksTheSignature) {
  const Identity identity = vector_identity();
  const TrustProof good =
      make_trust_proof(identity, vector_id(), vector_query(), kVectorClaim, kVectorTimestamp, /*sign=*/true);

  struct Case {
    const char* what;
    std::function<void(Uuid&, Query&, TrustProof&)> change;
  };
  const std::vector<Case> cases = {
      {"query id", [](Uuid& id, Query&, TrustProof&) { id = Uuid::random(); }},
      {"schema name", [](Uuid&, Query& q, TrustProof&) { q.schema_name = "UserProfilf"; }},
      {"a field renamed", [](Uuid&, Query& q, TrustProof&) { q.fields[1] = "emails"; }},
      {"a field added", [](Uuid&, Query& q, TrustProof&) { q.fields.push_back("age"); }},
      {"a field removed", [](Uuid&, Query& q, TrustProof&) { q.fields.pop_back(); }},
      {"fields reordered", [](Uuid&, Query& q, TrustProof&) { std::swap(q.fields[0], q.fields[1]); }},
      {"pub_key", [](Uuid&, Query& q, TrustProof&) { q.pub_key[0] = 'X'; }},
      {"query trust_distance", [](Uuid&, Query& q, TrustProof&) { q.trust_distance = 0; }},
      {"filter value", [](Uuid&, Query& q, TrustProof&) { (*q.filter)["age"]["gte"] = 17; }},
      {"filter int became double", [](Uuid&, Query& q, TrustProof&) { (*q.filter)["age"]["gte"] = 18.0; }},
      {"filter key", [](Uuid&, Query& q, TrustProof&) { (*q.filter)["nam"] = (*q.filter)["name"]; q.filter->erase("name"); }},
      {"filter list order", [](Uuid&, Query& q, TrustProof&) { std::swap((*q.filter)["tags"][0], (*q.filter)["tags"][1]); }},
      {"filter removed", [](Uuid&, Query& q, TrustProof&) { q.filter.reset(); }},
      {"filter null instead of absent", [](Uuid&, Query& q, TrustProof&) { q.filter = Json(nullptr); }},
      {"claimed distance", [](Uuid&, Query&, TrustProof& p) { p.trust_distance = 0; }},
      {"timestamp", [](Uuid&, Query&, TrustProof& p) { p.timestamp_ms += 1; }},
      {"signature bit", [](Uuid&, Query&, TrustProof& p) { p.signature[10] ^= 0x01; }},
      {"signature truncated", [](Uuid&, Query&, TrustProof& p) { p.signature.pop_back(); }},
      {"someone else's key", [](Uuid&, Query&, TrustProof& p) { p.public_key = Identity::generate()->public_key(); }},
  };
  for (const auto& c : cases) {
    Uuid id = vector_id();
    Query query = vector_query();
    TrustProof proof = good;
    c.change(id, query, proof);
    EXPECT_FALSE(detail::verify_trust_proof(id, query, proof)) << "still verifies after changing the " << c.what;
  }
  EXPECT_TRUE(detail::verify_trust_proof(vector_id(), vector_query(), good));
}

TEST(TrustProof, LengthPrefixesKeepBoundariesApart) {
  const Uuid id = vector_id();
  Query a;
  a.schema_name = "S";
  a.fields = {"ab", "c"};
  Query b = a;
  b.fields = {"a", "bc"};
  EXPECT_NE(detail::trust_proof_bytes(id, a, 0, 0), detail::trust_proof_bytes(id, b, 0, 0));
  Query c;
  c.schema_name = "Sab";
  c.fields = {"c"};
  EXPECT_NE(detail::trust_proof_bytes(id, a, 0, 0), detail::trust_proof_bytes(id, c, 0, 0));
  Query d;
  d.schema_name = "S";
  d.pub_key = "x";
  Query e;
  e.schema_name = "S";
  e.fields = {"x"};
  EXPECT_NE(detail::trust_proof_bytes(id, d, 0, 0), detail::trust_proof_bytes(id, e, 0, 0));
}

// The verifier sees the query after the wire has converted it (JSON -> protobuf
// Value -> JSON). A proof signed before must still verify after, whatever the
// filter holds.
TEST(TrustProof, SignedProofStillVerifiesAfterTheWire) {
  const Identity identity = *Identity::generate();
  std::vector<Json> filters = {
      Json::parse(R"({"b": [1, -2, 3.25, "x"], "a": {"nested": {"deeper": [null, false]}}})"),
      Json(std::numeric_limits<std::uint64_t>::max()),  // travels as a double
      Json(std::uint64_t{42}),                            // unsigned in, int64 out
      Json(std::string("not \xff utf-8")),                // travels as bytes, comes back binary
      Json::binary({1, 2, 3, 0}),
      Json(-0.0),
      Json(std::numeric_limits<double>::infinity()),
      Json::object(),
      Json::array(),
      Json(nullptr),
  };
  Json deep = 1;
  for (int i = 0; i < 100; ++i) deep = Json::array({deep});  // cut to null at 64 levels on the wire
  filters.push_back(deep);

  for (const auto& filter : filters) {
    QueryMessage request;
    request.query_id = Uuid::random();
    request.query = Query{"Schema", {"f1", "f\xc3\xa9"}, identity.public_key().to_string(), 2, filter};
    request.trust_proof = make_trust_proof(identity, request.query_id, request.query, 2, 1234, /*sign=*/true);
    const std::string envelope = encode_envelope(request);
    auto decoded = decode_envelope(
        std::span(reinterpret_cast<const std::uint8_t*>(envelope.data()), envelope.size()));
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    const auto& received = std::get<QueryMessage>(*decoded);
    EXPECT_TRUE(detail::verify_trust_proof(received.query_id, received.query, received.trust_proof))
        << "filter " << filter.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

// ------------------------------------------------------------------ QueryService rules

class QueryServiceTrust : public ::testing::Test {
 protected:
  QueryServiceTrust()
      : service_([this](const PublicKey& key) { return lookup(key); }, [this] { return now_ms_; }) {
    service_.set_query_callback([this](Query q, const RequestContext& ctx) {
      seen_query_ = q;
      seen_context_ = ctx;
      return QueryResult{};
    });
    peer_context_.node_id = peer_.node_id();
    peer_context_.public_key = peer_.public_key();
    peer_context_.trust_distance = 99;
  }

  std::uint32_t lookup(const PublicKey& key) const {
    if (key == peer_.public_key()) return 4;
    if (key == other_.public_key()) return 2;
    return 1000;
  }

  QueryMessage request_from(const Identity& who, bool sign, std::int64_t timestamp, std::uint32_t claim = 0) {
    QueryMessage m;
    m.query_id = Uuid::random();
    m.query = Query{"S", {"f"}, who.public_key().to_string(), claim, std::nullopt};
    m.trust_proof = make_trust_proof(who, m.query_id, m.query, claim, timestamp, sign);
    return m;
  }

  // The error code of the refusal, or None if the query was answered.
  ErrorCode outcome(const QueryMessage& m) {
    auto reply = service_.handle(m, peer_context_);
    if (!reply) return reply.error().code;
    EXPECT_TRUE(*reply && std::holds_alternative<QueryResponseMessage>(**reply));
    return ErrorCode::None;
  }

  const Identity peer_ = *Identity::generate();   // the connection's proven key
  const Identity other_ = *Identity::generate();  // someone the peer relays for
  std::int64_t now_ms_ = 1'700'000'000'000;
  QueryService service_;
  RequestContext peer_context_;
  Query seen_query_;
  RequestContext seen_context_;
};

TEST_F(QueryServiceTrust, DirectUnsignedQueryGetsTheStoredDistanceForAZeroClaim) {
  ASSERT_EQ(outcome(request_from(peer_, false, 0, /*claim=*/0)), ErrorCode::None);
  EXPECT_EQ(seen_context_.trust_distance, 4u);
  EXPECT_EQ(seen_query_.trust_distance, 4u);
  EXPECT_EQ(seen_context_.public_key, peer_.public_key());
  EXPECT_EQ(seen_query_.pub_key, peer_.public_key().to_string());
  // Claiming to be further away is honoured: a requester can lower its own trust.
  ASSERT_EQ(outcome(request_from(peer_, false, 0, /*claim=*/9)), ErrorCode::None);
  EXPECT_EQ(seen_context_.trust_distance, 9u);
}

TEST_F(QueryServiceTrust, DirectQueryIgnoresTheTimestampUnlessRelayed) {
  EXPECT_EQ(outcome(request_from(peer_, false, 0)), ErrorCode::None);
  EXPECT_EQ(outcome(request_from(peer_, true, 0)), ErrorCode::None);
}

TEST_F(QueryServiceTrust, DirectQueryWithABadSignatureIsRefused) {
  auto m = request_from(peer_, true, now_ms_);
  m.trust_proof.signature[0] ^= 0x80;
  EXPECT_EQ(outcome(m), ErrorCode::TrustValidationFailed);
  m.trust_proof.signature.resize(10);  // wrong length
  EXPECT_EQ(outcome(m), ErrorCode::TrustValidationFailed);
}

TEST_F(QueryServiceTrust, AnotherKeyWithoutASignatureIsRefused) {
  EXPECT_EQ(outcome(request_from(other_, false, now_ms_)), ErrorCode::TrustValidationFailed);
}

TEST_F(QueryServiceTrust, AnotherKeyWithItsSignatureIsThatKeysQuery) {
  ASSERT_EQ(outcome(request_from(other_, true, now_ms_)), ErrorCode::None);
  EXPECT_EQ(seen_context_.public_key, other_.public_key());
  EXPECT_EQ(seen_context_.node_id, other_.node_id());
  EXPECT_EQ(seen_query_.pub_key, other_.public_key().to_string());
  EXPECT_EQ(seen_context_.trust_distance, 2u);  // other's stored distance, not the relay's 4
}

TEST_F(QueryServiceTrust, AnotherKeysSignatureOverDifferentBytesIsRefused) {
  auto m = request_from(other_, true, now_ms_);
  m.query.fields.push_back("secret");  // changed after signing
  EXPECT_EQ(outcome(m), ErrorCode::TrustValidationFailed);
  auto n = request_from(other_, true, now_ms_);
  n.trust_proof.signature = request_from(peer_, true, now_ms_).trust_proof.signature;  // signed by the relay
  EXPECT_EQ(outcome(n), ErrorCode::TrustValidationFailed);
}

TEST_F(QueryServiceTrust, RelayedTimestampMustBeWithinTheSkewWindow) {
  const std::int64_t skew = QueryService::kMaxProofSkew.count();
  EXPECT_EQ(outcome(request_from(other_, true, now_ms_ - skew)), ErrorCode::None);
  EXPECT_EQ(outcome(request_from(other_, true, now_ms_ + skew)), ErrorCode::None);
  EXPECT_EQ(outcome(request_from(other_, true, now_ms_ - skew - 1)), ErrorCode::TrustValidationFailed);
  EXPECT_EQ(outcome(request_from(other_, true, now_ms_ + skew + 1)), ErrorCode::TrustValidationFailed);
  EXPECT_EQ(outcome(request_from(other_, true, std::numeric_limits<std::int64_t>::min())),
            ErrorCode::TrustValidationFailed);
  EXPECT_EQ(outcome(request_from(other_, true, std::numeric_limits<std::int64_t>::max())),
            ErrorCode::TrustValidationFailed);
}

TEST_F(QueryServiceTrust, ReplayedIdsAreRefused) {
  const auto direct = request_from(peer_, false, now_ms_);
  EXPECT_EQ(outcome(direct), ErrorCode::None);
  EXPECT_EQ(outcome(direct), ErrorCode::TrustValidationFailed);

  const auto relayed = request_from(other_, true, now_ms_);
  EXPECT_EQ(outcome(relayed), ErrorCode::None);
  EXPECT_EQ(outcome(relayed), ErrorCode::TrustValidationFailed);
  // Later the id is forgotten, but by then the signed timestamp is out of the window.
  now_ms_ += QueryService::kReplayRetention.count() + 1;
  EXPECT_EQ(outcome(relayed), ErrorCode::TrustValidationFailed);
}

TEST_F(QueryServiceTrust, AForgeryDoesNotBurnTheGenuineId) {
  const auto genuine = request_from(other_, true, now_ms_);
  auto forged = genuine;
  forged.trust_proof.signature[5] ^= 0x01;
  EXPECT_EQ(outcome(forged), ErrorCode::TrustValidationFailed);
  EXPECT_EQ(outcome(genuine), ErrorCode::None);
}

}  // namespace
}  // namespace datafold::net
