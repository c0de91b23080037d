// The asker of a query wanted whole from a peer that answers in parts
// (QueryService::send_query_whole with streamed_answers; services/whole_answer.cpp),
// against a connection whose replies the test writes: parts are joined in order and
// credited back, the caller hears exactly once, and a bad part ends the answer with
// a cancel sent to the answerer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "datafold/net/connection.hpp"
#include "datafold/net/query_service.hpp"

namespace datafold::net {
namespace {

using ::testing::_;
using ::testing::NiceMock;
using ::testing::ReturnRef;

class MockConnection : public Connection {
 public:
  MOCK_METHOD(const NodeId&, node_id, (), (const, noexcept, override));
  MOCK_METHOD(const PublicKey&, peer_public_key, (), (const, noexcept, override));
  MOCK_METHOD(std::uint32_t, protocol_version, (), (const, noexcept, override));
  MOCK_METHOD(std::string, remote_address, (), (const, override));
  MOCK_METHOD(bool, inbound, (), (const, noexcept, override));
  MOCK_METHOD(ConnectionState, state, (), (const, noexcept, override));
  MOCK_METHOD(bool, is_healthy, (), (const, noexcept, override));
  MOCK_METHOD(std::size_t, pending_requests, (), (const, noexcept, override));
  MOCK_METHOD(void, request, (const Message&, Completion, std::chrono::milliseconds), (override));
  MOCK_METHOD(void, request_parts, (const Message&, Completion, std::chrono::milliseconds), (override));
  MOCK_METHOD(void, send_message, (const Message&), (override));
  MOCK_METHOD(void, close, (), (override));
};

class WholeAnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ON_CALL(*connection_, request_parts(_, _, _))
        .WillByDefault([this](const Message& request, Connection::Completion on_part, std::chrono::milliseconds) {
          asked_ = std::get<QueryMessage>(request);
          on_part_ = std::move(on_part);
        });
    ON_CALL(*connection_, send_message(_)).WillByDefault([this](const Message& message) {
      credits_.push_back(std::get<QueryCreditMessage>(message));
    });
    QueryMessage request;
    request.query_id = Uuid::random();
    request.query.schema_name = "S";
    request.query.fields = {"n"};
    QueryService::send_query_whole(connection_, true, std::move(request), std::chrono::seconds(5),
                                   [this](NetworkResult<QueryResult> outcome) { outcomes_.push_back(std::move(outcome)); });
  }

  // Part `number` of the answer: the rows of field `field`.
  Message part(std::uint32_t number, bool more, std::vector<int> rows, const std::string& field = "n") const {
    QueryResponseMessage response;
    response.message_id = Uuid::random();
    response.query_id = asked_->query_id;
    response.part = number;
    response.more = more;
    response.result.results.push_back({field, Json(rows)});
    return response;
  }

  // The rows of field "n" in the one answer the caller heard.
  std::vector<int> rows_heard() const {
    EXPECT_EQ(outcomes_.size(), 1u);
    if (outcomes_.empty() || !outcomes_.front()) return {};
    return outcomes_.front()->results.at(0).value().get<std::vector<int>>();
  }

  std::shared_ptr<NiceMock<MockConnection>> connection_ = std::make_shared<NiceMock<MockConnection>>();
  std::optional<QueryMessage> asked_;
  Connection::Completion on_part_;
  std::vector<QueryCreditMessage> credits_;
  std::vector<NetworkResult<QueryResult>> outcomes_;
};

TEST_F(WholeAnswerTest, TheQueryIsAskedInPartsWithTheDefaultWindow) {
  ASSERT_TRUE(asked_.has_value());
  EXPECT_EQ(asked_->stream_window, QueryService::kDefaultStreamWindow);
  EXPECT_EQ(asked_->query.schema_name, "S");
}

TEST_F(WholeAnswerTest, AnAnswerInOnePartIsHandedOverAsItCameAndNothingIsCredited) {
  on_part_(part(0, false, {1, 2, 3}));
  EXPECT_EQ(rows_heard(), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(credits_.empty());
}

TEST_F(WholeAnswerTest, PartsAreJoinedInOrderAndEachButTheLastIsCreditedBack) {
  on_part_(part(0, true, {1, 2}));
  on_part_(part(1, true, {3}));
  EXPECT_TRUE(outcomes_.empty());
  on_part_(part(2, false, {4, 5}));
  EXPECT_EQ(rows_heard(), (std::vector<int>{1, 2, 3, 4, 5}));
  ASSERT_EQ(credits_.size(), 2u);
  for (const auto& credit : credits_) {
    EXPECT_EQ(credit.query_id, asked_->query_id);
    EXPECT_EQ(credit.parts, 1u);
    EXPECT_FALSE(credit.cancel);
  }
}

TEST_F(WholeAnswerTest, APartOutOfOrderEndsTheAnswerWithAProtocolErrorAndCancelsTheRest) {
  on_part_(part(0, true, {1}));
  on_part_(part(2, false, {3}));
  on_part_(part(1, false, {2}));  // too late: the answer has ended
  ASSERT_EQ(outcomes_.size(), 1u);
  ASSERT_FALSE(outcomes_.front());
  EXPECT_EQ(outcomes_.front().error().code, ErrorCode::ProtocolError);
  EXPECT_THAT(outcomes_.front().error().message, ::testing::HasSubstr("part 2 where part 1 was due"));
  ASSERT_EQ(credits_.size(), 2u);  // the first part's, then the cancel
  EXPECT_TRUE(credits_.back().cancel);
}

TEST_F(WholeAnswerTest, PartsThatNameDifferentFieldsAreAProtocolError) {
  on_part_(part(0, true, {1}));
  on_part_(part(1, false, {2}, "m"));
  ASSERT_EQ(outcomes_.size(), 1u);
  ASSERT_FALSE(outcomes_.front());
  EXPECT_THAT(outcomes_.front().error().message, ::testing::HasSubstr("disagree on its fields"));
  // The answerer had sent its last part: there is nothing left to cancel.
  ASSERT_EQ(credits_.size(), 1u);
  EXPECT_FALSE(credits_.back().cancel);
}

TEST_F(WholeAnswerTest, TheConnectionsEndMidAnswerIsHeardOnceAndTheAnswererIsToldToStop) {
  on_part_(part(0, true, {1}));
  on_part_(make_error(ErrorKind::Connection, "closed"));
  on_part_(make_error(ErrorKind::Timeout, "late"));
  ASSERT_EQ(outcomes_.size(), 1u);
  ASSERT_FALSE(outcomes_.front());
  EXPECT_EQ(outcomes_.front().error().kind, ErrorKind::Connection);
  ASSERT_EQ(credits_.size(), 2u);
  EXPECT_TRUE(credits_.back().cancel);
}

TEST_F(WholeAnswerTest, AReplyOfAnotherKindIsAProtocolError) {
  PongMessage pong;
  pong.message_id = Uuid::random();
  on_part_(Message(pong));
  ASSERT_EQ(outcomes_.size(), 1u);
  ASSERT_FALSE(outcomes_.front());
  EXPECT_THAT(outcomes_.front().error().message, ::testing::HasSubstr("another message kind"));
}

}  // namespace
}  // namespace datafold::net
