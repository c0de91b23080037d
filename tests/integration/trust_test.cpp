// Trust end to end over real nodes on loopback: the serving node decides a
// requester's distance from its trust store, never from the requester's word;
// trust proofs naming another key need that key's signature; replays are refused.
#include "datafold/net/network_core.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "datafold/net/message.hpp"
#include "datafold/net/query_service.hpp"
#include "datafold/net/trust_store.hpp"

#include "support/raw_tls_client.hpp"
#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

namespace fs = std::filesystem;
using testing::RawTlsClient;
using testing::introduce;
using testing::start_node;

// Answers every query with what the serving node told its callback, so the
// requester can see the verdict.
void answer_with_verdict(NetworkCore& node) {
  node.set_query_callback([](Query q, const RequestContext& ctx) {
    QueryResult r;
    r.results.push_back({"distance", Json(ctx.trust_distance)});
    r.results.push_back({"query_distance", Json(q.trust_distance)});
    r.results.push_back({"key", Json(ctx.public_key.to_string())});
    r.results.push_back({"pub_key", Json(q.pub_key)});
    r.results.push_back({"node_id", Json(ctx.node_id.to_string())});
    return r;
  });
}

std::unique_ptr<NetworkCore> verdict_server(NetworkConfig config = testing::loopback_config()) {
  auto node = start_node(std::move(config));
  if (node) answer_with_verdict(*node);
  return node;
}

// The distance the server saw for a query from `client` claiming `claim`; nullopt on error.
std::optional<std::uint32_t> distance_seen(NetworkCore& client, NetworkCore& server, std::uint32_t claim = 0) {
  auto r = client.query_node(server.local_node_id(), Query{"S", {"f"}, "", claim, std::nullopt});
  if (!r) {
    ADD_FAILURE() << r.error().to_string();
    return std::nullopt;
  }
  if (r->find("distance") == nullptr || r->find("query_distance") == nullptr) {
    ADD_FAILURE() << "no verdict in the answer";
    return std::nullopt;
  }
  const auto distance = r->find("distance")->value().get<std::uint32_t>();
  EXPECT_EQ(r->find("query_distance")->value().get<std::uint32_t>(), distance)
      << "the Query and the RequestContext disagree";
  return distance;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A query as a raw peer sends it, with the proof `signer` makes (signed or not).
QueryMessage query_by(const Identity& signer, bool sign, std::uint32_t claim = 0) {
  QueryMessage m;
  m.query_id = Uuid::random();
  m.query = Query{"S", {"f"}, signer.public_key().to_string(), claim, std::nullopt};
  m.trust_proof = make_trust_proof(signer, m.query_id, m.query, claim, now_ms(), sign);
  return m;
}

// The node's answer to the request `id`, skipping anything else it sends meanwhile.
std::optional<Message> reply_to(RawTlsClient& raw, const Uuid& id) {
  for (int i = 0; i < 16; ++i) {
    auto m = raw.read_message();
    if (!m) return std::nullopt;
    if (related_message_id(*m) == id) return m;
  }
  return std::nullopt;
}

ErrorCode refusal_code(RawTlsClient& raw, const QueryMessage& query) {
  EXPECT_TRUE(raw.send(query));
  auto reply = reply_to(raw, query.query_id);
  if (!reply) {
    ADD_FAILURE() << "no reply";
    return ErrorCode::None;
  }
  if (auto* error = std::get_if<ErrorMessage>(&*reply)) return error->code;
  EXPECT_TRUE(std::holds_alternative<QueryResponseMessage>(*reply));
  return ErrorCode::None;  // answered
}

class TrustFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("datafold-trust-it-" + Uuid::random().to_string());
    fs::create_directories(dir_);
    file_ = dir_ / "trust.json";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
  fs::path file_;
};

TEST(Trust, ClaimingDistanceZeroGetsTheDistanceTheTrustStoreGives) {
  auto server = verdict_server();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  introduce(*client, *server);
  ASSERT_TRUE(server->trust_store().set(client->public_key(), 3));
  EXPECT_EQ(distance_seen(*client, *server, /*claim=*/0), 3u);
  EXPECT_EQ(distance_seen(*client, *server, /*claim=*/2), 3u);
  // Claiming to be further away is honoured: it can only reduce what is shown.
  EXPECT_EQ(distance_seen(*client, *server, /*claim=*/5), 5u);
}

TEST(Trust, UnknownKeysGetUnknownTrustDistance) {
  auto config = testing::loopback_config();
  config.unknown_trust_distance = 7;
  auto server = verdict_server(config);
  auto defaults = verdict_server();
  auto client = start_node();
  ASSERT_TRUE(server && defaults && client);
  introduce(*client, *server);
  introduce(*client, *defaults);
  EXPECT_EQ(distance_seen(*client, *server), 7u);
  EXPECT_EQ(distance_seen(*client, *defaults), NetworkConfig{}.unknown_trust_distance);
  // Another key's entry does not leak onto this one.
  ASSERT_TRUE(server->trust_store().set(Identity::generate()->public_key(), 1));
  EXPECT_EQ(distance_seen(*client, *server), 7u);
}

TEST(Trust, TrustSetAtRuntimeAppliesToTheNextQuery) {
  auto server = verdict_server();
  auto client = start_node();
  ASSERT_TRUE(server && client);
  introduce(*client, *server);
  EXPECT_EQ(distance_seen(*client, *server), NetworkConfig{}.unknown_trust_distance);
  ASSERT_TRUE(server->trust_store().set(client->public_key(), 2));
  EXPECT_EQ(distance_seen(*client, *server), 2u);
  ASSERT_TRUE(server->trust_store().set(client->public_key(), 1));
  EXPECT_EQ(distance_seen(*client, *server), 1u);
  ASSERT_TRUE(server->trust_store().remove(client->public_key()).value());
  EXPECT_EQ(distance_seen(*client, *server), NetworkConfig{}.unknown_trust_distance);
}

TEST_F(TrustFile, TrustStoreFileIsLoadedAndOtherProcessesChangesApplyWithoutRestart) {
  auto client = start_node();
  ASSERT_TRUE(client);
  {
    auto seed = TrustStore::open(file_);
    ASSERT_TRUE(seed) << seed.error().to_string();
    ASSERT_TRUE(seed->set(client->public_key(), 5, "seeded before start"));
  }
  auto config = testing::loopback_config();
  config.trust_store_file = file_;
  auto server = verdict_server(config);
  ASSERT_TRUE(server);
  introduce(*client, *server);
  EXPECT_EQ(distance_seen(*client, *server), 5u);

  // What `datafold trust set` does from another process: its own store on the same file.
  auto cli = TrustStore::open(file_);
  ASSERT_TRUE(cli) << cli.error().to_string();
  ASSERT_TRUE(cli->set(client->public_key(), 1));
  // The node looks at the file at most every TrustStore::kReloadInterval.
  std::optional<std::uint32_t> seen;
  EXPECT_TRUE(testing::eventually([&] {
    seen = distance_seen(*client, *server);
    return seen == 1u;
  })) << "last distance seen: " << seen.value_or(0);

  // The node's own changes reach the file, for the CLI to list.
  ASSERT_TRUE(server->trust_store().set(client->public_key(), 4));
  auto reread = TrustStore::open(file_);
  ASSERT_TRUE(reread);
  EXPECT_EQ(reread->get(client->public_key()), 4u);
}

TEST_F(TrustFile, MalformedTrustStoreFileIsAConfigErrorAtCreate) {
  std::ofstream(file_) << R"({"version": 1, "entries": [{"public_key": "not-a-key", "distance": 1}]})";
  auto config = testing::loopback_config();
  config.trust_store_file = file_;
  auto core = NetworkCore::create(config, NodeId{}, std::nullopt);
  ASSERT_FALSE(core);
  EXPECT_EQ(core.error().kind, ErrorKind::Config);
  EXPECT_NE(core.error().message.find(file_.string()), std::string::npos) << core.error().message;
  EXPECT_NE(core.error().message.find("public_key"), std::string::npos) << core.error().message;
}

// A verdict server and a raw peer that has said Hello to it: for the tests that send
// hand-made queries and proofs.
class TrustAsRawPeer : public ::testing::Test {
 protected:
  void SetUp() override {
    server = verdict_server();
    ASSERT_TRUE(server);
    ASSERT_TRUE(raw.connect(server->listen_port()));
    ASSERT_TRUE(raw.exchange_hello());
  }
  std::unique_ptr<NetworkCore> server;
  RawTlsClient raw;
};

TEST_F(TrustAsRawPeer, ForgedSignatureIsRefusedWithTrustValidationFailed) {
  // Our own key, with a signature that does not match what was sent.
  auto tampered = query_by(raw.identity(), /*sign=*/true);
  tampered.query.fields.push_back("secret");
  EXPECT_EQ(refusal_code(raw, tampered), ErrorCode::TrustValidationFailed);

  // Another key, "signed" by us instead of by it.
  const Identity victim = *Identity::generate();
  ASSERT_TRUE(server->trust_store().set(victim.public_key(), 0));
  auto forged = query_by(victim, /*sign=*/false);
  forged.trust_proof.signature = make_trust_proof(raw.identity(), forged.query_id, forged.query, 0,
                                                  forged.trust_proof.timestamp_ms, true)
                                     .signature;
  EXPECT_EQ(refusal_code(raw, forged), ErrorCode::TrustValidationFailed);

  // Refusals do not cost the connection: a genuine query is still answered.
  EXPECT_EQ(refusal_code(raw, query_by(raw.identity(), false)), ErrorCode::None);
}

TEST_F(TrustAsRawPeer, AnotherKeyWithoutASignatureIsRefused) {
  const Identity other = *Identity::generate();
  ASSERT_TRUE(server->trust_store().set(other.public_key(), 0));
  EXPECT_EQ(refusal_code(raw, query_by(other, /*sign=*/false)), ErrorCode::TrustValidationFailed);
  // The server's own key is no exception.
  QueryMessage as_server = query_by(raw.identity(), false);
  as_server.trust_proof.public_key = server->public_key();
  EXPECT_EQ(refusal_code(raw, as_server), ErrorCode::TrustValidationFailed);
}

TEST_F(TrustAsRawPeer, AnotherKeyWithItsValidSignatureIsAcceptedAsThatKey) {
  const Identity other = *Identity::generate();
  ASSERT_TRUE(server->trust_store().set(other.public_key(), 1));
  ASSERT_TRUE(server->trust_store().set(raw.identity().public_key(), 6));

  const QueryMessage relayed = query_by(other, /*sign=*/true, /*claim=*/0);
  ASSERT_TRUE(raw.send(relayed));
  auto reply = reply_to(raw, relayed.query_id);
  ASSERT_TRUE(reply);
  auto* response = std::get_if<QueryResponseMessage>(&*reply);
  ASSERT_NE(response, nullptr) << "refused: " << std::get<ErrorMessage>(*reply).message;
  const auto& result = response->result;
  EXPECT_EQ(result.find("key")->value(), Json(other.public_key().to_string()));
  EXPECT_EQ(result.find("pub_key")->value(), Json(other.public_key().to_string()));
  EXPECT_EQ(result.find("node_id")->value(), Json(other.node_id().to_string()));
  EXPECT_EQ(result.find("distance")->value(), Json(1));  // other's entry, not the relay's 6

  // A signed proof too old to be fresh is refused even though the signature holds.
  QueryMessage stale;
  stale.query_id = Uuid::random();
  stale.query = relayed.query;
  stale.trust_proof = make_trust_proof(other, stale.query_id, stale.query, 0,
                                       now_ms() - QueryService::kMaxProofSkew.count() - 5'000, true);
  EXPECT_EQ(refusal_code(raw, stale), ErrorCode::TrustValidationFailed);
}

TEST_F(TrustAsRawPeer, EachQueryOfARunSeesItsOwnRequestersKey) {
  // Queries sent together arrive in one read and are admitted one after another on
  // one thread: a key taken over from the query before would show here.
  const Identity other = *Identity::generate();
  const std::vector<QueryMessage> run = {query_by(raw.identity(), false), query_by(other, true),
                                         query_by(raw.identity(), false), query_by(other, true)};
  for (const auto& query : run) ASSERT_TRUE(raw.send(query));
  // Answered on the handler pool: the replies may come in any order.
  std::map<Uuid, Message> replies;
  while (replies.size() < run.size()) {
    auto reply = raw.read_message();
    ASSERT_TRUE(reply) << replies.size() << " replies of " << run.size();
    if (auto related = related_message_id(*reply)) replies.emplace(*related, std::move(*reply));
  }
  for (std::size_t i = 0; i < run.size(); ++i) {
    auto reply = replies.find(run[i].query_id);
    ASSERT_NE(reply, replies.end()) << "query " << i;
    auto* response = std::get_if<QueryResponseMessage>(&reply->second);
    ASSERT_NE(response, nullptr) << "query " << i << " refused: " << std::get<ErrorMessage>(reply->second).message;
    const auto& asker = i % 2 == 0 ? raw.identity() : other;
    EXPECT_EQ(response->result.find("pub_key")->value(), Json(asker.public_key().to_string())) << "query " << i;
  }
}

TEST_F(TrustAsRawPeer, ReplayedQueryIdIsRefused) {
  const QueryMessage direct = query_by(raw.identity(), /*sign=*/false);
  EXPECT_EQ(refusal_code(raw, direct), ErrorCode::None);
  ASSERT_TRUE(raw.send(direct));  // the very same message again
  auto reply = reply_to(raw, direct.query_id);
  ASSERT_TRUE(reply);
  ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*reply));
  EXPECT_EQ(std::get<ErrorMessage>(*reply).code, ErrorCode::TrustValidationFailed);
  EXPECT_EQ(std::get<ErrorMessage>(*reply).related_message_id, direct.query_id);

  // A signed query replayed by someone else, on another connection, is refused too.
  const Identity other = *Identity::generate();
  const QueryMessage relayed = query_by(other, /*sign=*/true);
  EXPECT_EQ(refusal_code(raw, relayed), ErrorCode::None);
  RawTlsClient eavesdropper;
  ASSERT_TRUE(eavesdropper.connect(server->listen_port()));
  ASSERT_TRUE(eavesdropper.exchange_hello());
  EXPECT_EQ(refusal_code(eavesdropper, relayed), ErrorCode::TrustValidationFailed);

  // The connection survives: fresh queries are answered.
  EXPECT_EQ(refusal_code(raw, query_by(raw.identity(), false)), ErrorCode::None);
}

}  // namespace
}  // namespace datafold::net
