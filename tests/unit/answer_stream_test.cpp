#include "services/answer_stream.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <vector>

namespace datafold::net::detail {
namespace {

// A table of rows 1..rows, paged by the last row sent; the stream's work runs only
// when the test says, so what is sent before any credit is exact.
class AnswerStreamTest : public ::testing::Test {
 protected:
  // A stream started as the node starts one: its first part made before it existed.
  std::shared_ptr<AnswerStream> start_stream(std::uint32_t window, std::uint32_t limit = 0,
                                             std::string position = {}) {
    auto answer = parts(limit, std::move(position));
    QueryResponseMessage first = first_part(answer);
    auto stream = make_from(std::move(answer), window);
    stream->start(std::move(first));
    return stream;
  }

  AnswerParts parts(std::uint32_t limit = 0, std::string position = {}) const {
    return AnswerParts({.query_id = query_id_, .limit = limit, .position = std::move(position),
                        .max_part_rows = part_rows_});
  }

  std::shared_ptr<AnswerStream> make_from(AnswerParts answer, std::uint32_t window) {
    return std::make_shared<AnswerStream>(
        std::move(answer), window,
        [this](const std::string& after, std::size_t max_rows) { return page(after, max_rows); },
        [this](Message m, bool last) {
          sent_.push_back(std::move(m));
          lasts_.push_back(last);
        },
        [this](std::function<void()> work) { work_.push_back(std::move(work)); },
        [this] { ++finished_; });
  }

  NetworkResult<QueryPage> page(const std::string& after, std::size_t max_rows) {
    ++pages_made_;
    if (fail_at_page_ && pages_made_ == *fail_at_page_)
      return make_error(ErrorKind::Message, "disk on fire", ErrorCode::InternalError);
    const int first = after.empty() ? 1 : std::stoi(after) + 1;
    QueryPage page;
    Json values = Json::array();
    int n = first;
    for (; n <= rows_ && values.size() < max_rows; ++n) values.push_back(n);
    page.rows = values.size();
    page.result.results.push_back(FieldResult{"n", std::move(values)});
    if (n <= rows_) {
      page.next_position = std::to_string(n - 1);
      page.result.cursor = "cursor-after-" + page.next_position;
    }
    return page;
  }

  // The first part of `answer`, made as the node makes it: before any stream exists.
  QueryResponseMessage first_part(AnswerParts& answer) {
    return answer.make(page(answer.position(), answer.next_rows()).value());
  }

  // Rows 1..rows_: what a whole answer holds.
  std::vector<int> every_row() const {
    std::vector<int> rows(static_cast<std::size_t>(rows_));
    for (int i = 0; i < rows_; ++i) rows[static_cast<std::size_t>(i)] = i + 1;
    return rows;
  }

  void run_work() {
    while (!work_.empty()) {
      auto next = std::move(work_.front());
      work_.pop_front();
      next();
    }
  }

  // The rows of every QueryResponse sent, in order.
  std::vector<int> rows_sent() const {
    std::vector<int> out;
    for (const auto& m : sent_)
      if (const auto* r = std::get_if<QueryResponseMessage>(&m))
        for (const auto& v : r->result.results.at(0).value()) out.push_back(v.get<int>());
    return out;
  }

  const Uuid query_id_ = Uuid::random();
  int rows_ = 100;
  std::size_t part_rows_ = 10;
  int pages_made_ = 0;
  std::optional<int> fail_at_page_;
  std::vector<Message> sent_;
  std::vector<bool> lasts_;
  std::deque<std::function<void()>> work_;
  int finished_ = 0;
};

TEST_F(AnswerStreamTest, SendsNoMoreThanTheWindowAheadOfCredit) {
  auto stream = start_stream(3);
  run_work();
  EXPECT_EQ(sent_.size(), 3u);
  EXPECT_EQ(pages_made_, 3);
  stream->credit(1);
  run_work();
  EXPECT_EQ(sent_.size(), 4u);
  // Credit beyond the window does not let it run further ahead.
  stream->credit(1000);
  run_work();
  EXPECT_EQ(sent_.size(), 7u);
}

TEST_F(AnswerStreamTest, EveryRowGoesOnceInOrderAndOnlyTheLastPartIsFinal) {
  auto stream = start_stream(2);
  for (int i = 0; i < 20 && !stream->finished(); ++i) {
    run_work();
    stream->credit(2);
  }
  run_work();
  ASSERT_TRUE(stream->finished());
  EXPECT_EQ(rows_sent(), every_row());
  ASSERT_EQ(sent_.size(), 10u);
  for (std::size_t i = 0; i < sent_.size(); ++i) {
    const auto& part = std::get<QueryResponseMessage>(sent_[i]);
    EXPECT_EQ(part.part, i);
    EXPECT_EQ(part.query_id, query_id_);
    EXPECT_EQ(part.more, i + 1 < sent_.size());
    EXPECT_EQ(lasts_[i], i + 1 == sent_.size());
    EXPECT_TRUE(part.result.cursor.empty()) << "part " << i;
  }
  EXPECT_EQ(finished_, 1);
}

TEST_F(AnswerStreamTest, ALimitEndsTheAnswerWithACursor) {
  auto stream = start_stream(16, 25);
  run_work();
  ASSERT_TRUE(stream->finished());
  EXPECT_EQ(rows_sent().size(), 25u);
  const auto& last = std::get<QueryResponseMessage>(sent_.back());
  EXPECT_FALSE(last.more);
  EXPECT_EQ(last.result.cursor, "cursor-after-25");
  // The third part was cut to the 5 rows the limit left.
  EXPECT_EQ(last.result.results.at(0).value().size(), 5u);
}

TEST_F(AnswerStreamTest, StartsFromItsPosition) {
  auto stream = start_stream(16, 0, "95");
  run_work();
  EXPECT_EQ(rows_sent(), (std::vector<int>{96, 97, 98, 99, 100}));
  EXPECT_TRUE(std::get<QueryResponseMessage>(sent_.back()).result.cursor.empty());
}

TEST_F(AnswerStreamTest, CancelWhileAPartIsBeingMadeSendsThatPartNot) {
  auto stream = start_stream(1);
  ASSERT_EQ(sent_.size(), 1u);  // the first part, made at once
  stream->credit(1);
  ASSERT_EQ(work_.size(), 1u);
  // The cancel arrives while the second part is scheduled: it is made but never sent.
  stream->cancel("cancelled by the asker");
  run_work();
  ASSERT_EQ(sent_.size(), 2u);
  const auto* error = std::get_if<ErrorMessage>(&sent_[1]);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, ErrorCode::QueryFailed);
  EXPECT_EQ(error->related_message_id, query_id_);
  EXPECT_TRUE(lasts_[1]);
  EXPECT_EQ(finished_, 1);
  // Nothing more, whatever comes later.
  stream->credit(5);
  run_work();
  EXPECT_EQ(sent_.size(), 2u);
}

// Most answers are one part: it is sent on the calling thread, as the reply, with
// no second trip through the scheduler (the handler pool).
TEST_F(AnswerStreamTest, AOnePartAnswerIsSentByStartWithoutSchedulingWork) {
  rows_ = 5;
  auto stream = start_stream(4);
  EXPECT_TRUE(work_.empty());
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_TRUE(lasts_[0]);
  EXPECT_EQ(rows_sent(), (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(finished_, 1);
}

TEST_F(AnswerStreamTest, AFailingPageEndsTheAnswerWithItsError) {
  fail_at_page_ = 2;
  auto stream = start_stream(4);
  run_work();
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<QueryResponseMessage>(sent_[0]));
  const auto* error = std::get_if<ErrorMessage>(&sent_[1]);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, ErrorCode::InternalError);
  EXPECT_EQ(error->message, "disk on fire");
  EXPECT_TRUE(stream->finished());
}

TEST_F(AnswerStreamTest, AnEmptyAnswerIsOneFinalPart) {
  rows_ = 0;
  auto stream = start_stream(4);
  run_work();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_FALSE(std::get<QueryResponseMessage>(sent_[0]).more);
  EXPECT_TRUE(lasts_[0]);
}

// The node makes the first part before any stream exists (most answers are that one
// part); a stream given the rest sends that part, then goes on from where it ended.
TEST_F(AnswerStreamTest, AStreamStartedWithAPartMadeBeforeItSendsItThenTheRestInOrder) {
  auto answer = parts();
  QueryResponseMessage part = first_part(answer);
  ASSERT_FALSE(answer.over());
  auto stream = make_from(std::move(answer), 3);
  stream->start(std::move(part));
  run_work();
  // The window counts the part made before: two more, not three.
  EXPECT_EQ(sent_.size(), 3u);
  for (int i = 0; i < 20 && !stream->finished(); ++i) {
    stream->credit(3);
    run_work();
  }
  ASSERT_TRUE(stream->finished());
  EXPECT_EQ(rows_sent(), every_row());
  for (std::size_t i = 0; i < sent_.size(); ++i)
    EXPECT_EQ(std::get<QueryResponseMessage>(sent_[i]).part, i);
  EXPECT_EQ(finished_, 1);
}

TEST_F(AnswerStreamTest, AStreamCancelledBeforeItsFirstPartWentSendsOnlyTheError) {
  auto answer = parts();
  QueryResponseMessage part = first_part(answer);
  auto stream = make_from(std::move(answer), 3);
  stream->cancel("connection closed");
  stream->start(std::move(part));
  run_work();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<ErrorMessage>(sent_[0]));
  EXPECT_EQ(finished_, 1);
}

// A page as the query service makes it: `rows` rows, ending at `next_position` ("": the
// table's end), with the cursor for continuing after it.
QueryPage page_of(std::size_t rows, std::string next_position, std::string cursor) {
  QueryPage page;
  page.rows = rows;
  page.next_position = std::move(next_position);
  page.result.cursor = std::move(cursor);
  return page;
}

TEST(AnswerParts, AOnePartAnswerIsOverAfterItsOnlyPartWhichKeepsTheCursor) {
  AnswerParts parts({.query_id = Uuid::random(), .limit = 0, .position = {}, .max_part_rows = 10});
  const auto part = parts.make(page_of(4, "", "cursor"));
  EXPECT_TRUE(parts.over());
  EXPECT_FALSE(part.more);
  EXPECT_EQ(part.part, 0u);
  EXPECT_EQ(part.result.cursor, "cursor");
}

TEST(AnswerParts, ALimitCutsTheNextPartAndEndsTheAnswerWhenReached) {
  AnswerParts parts({.query_id = Uuid::random(), .limit = 15, .position = {}, .max_part_rows = 10});
  EXPECT_EQ(parts.next_rows(), 10u);
  const auto first = parts.make(page_of(10, "10", "cursor-after-10"));
  EXPECT_TRUE(first.more);
  EXPECT_TRUE(first.result.cursor.empty());  // only the last part says where to go on
  EXPECT_EQ(parts.position(), "10");
  EXPECT_EQ(parts.next_rows(), 5u);
  const auto last = parts.make(page_of(5, "15", "cursor-after-15"));
  EXPECT_FALSE(last.more);
  EXPECT_EQ(last.part, 1u);
  EXPECT_EQ(last.result.cursor, "cursor-after-15");
  EXPECT_TRUE(parts.over());
}

TEST(AnswerParts, APageOfNoRowsThatClaimsMoreIsTheLast) {
  AnswerParts parts({.query_id = Uuid::random(), .limit = 0, .position = {}, .max_part_rows = 10});
  EXPECT_FALSE(parts.make(page_of(0, "7", "cursor-after-7")).more);
  EXPECT_TRUE(parts.over());
}

TEST(AnswerParts, AFailureIsTheRequestsErrorReplyWithItsCodeOrQueryFailed) {
  const Uuid id = Uuid::random();
  AnswerParts parts({.query_id = id, .limit = 0, .position = {}, .max_part_rows = 10});
  const auto coded = parts.failure(make_error(ErrorKind::Message, "disk on fire", ErrorCode::InternalError));
  EXPECT_EQ(coded.code, ErrorCode::InternalError);
  EXPECT_EQ(coded.message, "disk on fire");
  EXPECT_EQ(coded.related_message_id, id);
  EXPECT_EQ(parts.failure(make_error(ErrorKind::Message, "no")).code, ErrorCode::QueryFailed);
}

}  // namespace
}  // namespace datafold::net::detail
