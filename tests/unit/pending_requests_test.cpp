#include "core/pending_requests.hpp"

#include <gtest/gtest.h>

namespace datafold::net::detail {
namespace {

using Clock = PendingRequests::Clock;
using std::chrono::milliseconds;

struct CallbackOutcome {
  int calls = 0;
  std::optional<NetworkError> error;
  std::optional<Message> reply;
};

PendingRequests::Completion record(CallbackOutcome& out) {
  return [&out](NetworkResult<Message> r) {
    ++out.calls;
    if (r) {
      out.reply = std::move(*r);
    } else {
      out.error = r.error();
    }
  };
}

TEST(PendingRequests, CompletesByIdInAnyOrder) {
  PendingRequests pending;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  CallbackOutcome a, b;
  const Uuid ida = Uuid::random(), idb = Uuid::random();
  auto da = record(a), db = record(b);
  ASSERT_TRUE(pending.add(ida, t0, t0 + milliseconds(100), da));
  ASSERT_TRUE(pending.add(idb, t0, t0 + milliseconds(100), db));
  EXPECT_TRUE(pending.complete(idb, Message{PongMessage{}}));
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(a.calls, 0);
  EXPECT_TRUE(pending.complete(ida, Message{PongMessage{}}));
  EXPECT_EQ(a.calls, 1);
  EXPECT_TRUE(pending.empty());
}

TEST(PendingRequests, LateReplyIsDropped) {
  PendingRequests pending;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  CallbackOutcome a;
  const Uuid id = Uuid::random();
  auto done = record(a);
  ASSERT_TRUE(pending.add(id, t0, t0 + milliseconds(100), done));
  EXPECT_EQ(pending.expire(t0 + milliseconds(99)), 0u);
  EXPECT_EQ(pending.expire(t0 + milliseconds(100)), 1u);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->kind, ErrorKind::Timeout);
  EXPECT_EQ(a.error->code, ErrorCode::Timeout);
  EXPECT_FALSE(pending.complete(id, Message{PongMessage{}}));
  EXPECT_EQ(a.calls, 1);
}

TEST(PendingRequests, DuplicateIdRefused) {
  PendingRequests pending;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  CallbackOutcome a, b;
  const Uuid id = Uuid::random();
  auto da = record(a), db = record(b);
  ASSERT_TRUE(pending.add(id, t0, t0 + milliseconds(5), da));
  EXPECT_FALSE(pending.add(id, t0, t0 + milliseconds(5), db));
  EXPECT_TRUE(static_cast<bool>(db));  // untouched, so the caller can fail it
}

TEST(PendingRequests, FailAllCompletesEverything) {
  PendingRequests pending;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  std::vector<CallbackOutcome> outcomes(50);
  for (auto& o : outcomes) {
    auto done = record(o);
    ASSERT_TRUE(pending.add(Uuid::random(), t0, t0 + milliseconds(1000), done));
  }
  pending.fail_all(make_error(ErrorKind::Connection, "gone"));
  for (const auto& o : outcomes) {
    EXPECT_EQ(o.calls, 1);
    ASSERT_TRUE(o.error);
    EXPECT_EQ(o.error->kind, ErrorKind::Connection);
  }
  EXPECT_TRUE(pending.empty());
  EXPECT_FALSE(pending.next_deadline());
}

TEST(PendingRequests, NextDeadlineSkipsCompletedRequests) {
  PendingRequests pending;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  CallbackOutcome a, b;
  const Uuid ida = Uuid::random(), idb = Uuid::random();
  auto da = record(a), db = record(b);
  ASSERT_TRUE(pending.add(ida, t0, t0 + milliseconds(10), da));
  ASSERT_TRUE(pending.add(idb, t0, t0 + milliseconds(20), db));
  EXPECT_EQ(pending.next_deadline(), t0 + milliseconds(10));
  ASSERT_TRUE(pending.complete(ida, Message{PongMessage{}}));
  EXPECT_EQ(pending.next_deadline(), t0 + milliseconds(20));
}

TEST(PendingRequests, StaleDeadlinesDoNotAccumulate) {
  // Many requests completed long before their deadlines must not grow memory without bound.
  PendingRequests pending;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  CallbackOutcome sink;
  for (int i = 0; i < 100000; ++i) {
    const Uuid id = Uuid::random();
    auto done = record(sink);
    ASSERT_TRUE(pending.add(id, t0, t0 + std::chrono::seconds(30), done));
    ASSERT_TRUE(pending.complete(id, Message{PongMessage{}}));
  }
  EXPECT_EQ(sink.calls, 100000);
  EXPECT_EQ(pending.expire(t0 + std::chrono::minutes(1)), 0u);
}

TEST(PendingRequests, CompletionMayAddRequests) {
  PendingRequests pending;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  CallbackOutcome second;
  const Uuid first_id = Uuid::random();
  PendingRequests::Completion first = [&](NetworkResult<Message>) {
    auto done = record(second);
    pending.add(Uuid::random(), t0, t0 + milliseconds(50), done);
  };
  ASSERT_TRUE(pending.add(first_id, t0, t0 + milliseconds(10), first));
  EXPECT_EQ(pending.expire(t0 + milliseconds(10)), 1u);
  EXPECT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending.expire(t0 + milliseconds(60)), 1u);
  EXPECT_EQ(second.calls, 1);
}

}  // namespace
}  // namespace datafold::net::detail

namespace datafold::net::detail {
namespace {

TEST(PendingRequests, AnAnswerInPartsStaysPendingAndEachPartOrCreditRestartsItsDeadline) {
  PendingRequests pending;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  const Uuid id = Uuid::random();
  CallbackOutcome out;
  auto done = record(out);
  ASSERT_TRUE(pending.add_streamed(id, t0, milliseconds(100), done));

  QueryResponseMessage part;
  part.query_id = id;
  part.more = true;
  ASSERT_TRUE(pending.deliver_part(id, part, t0 + milliseconds(90)));
  EXPECT_EQ(out.calls, 1);
  EXPECT_EQ(pending.size(), 1u);
  // 90 + 100: not expired at 150, as it would have been from the start.
  EXPECT_EQ(pending.expire(t0 + milliseconds(150)), 0u);
  pending.restart_deadline(id, t0 + milliseconds(180));
  EXPECT_EQ(pending.expire(t0 + milliseconds(250)), 0u);
  EXPECT_EQ(pending.next_deadline(), t0 + milliseconds(280));
  EXPECT_EQ(pending.expire(t0 + milliseconds(280)), 1u);
  EXPECT_EQ(out.calls, 2);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->kind, ErrorKind::Timeout);
  EXPECT_TRUE(pending.empty());
}

TEST(PendingRequests, APartForARequestAskedWholeIsNotDelivered) {
  PendingRequests pending;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  const Uuid id = Uuid::random();
  CallbackOutcome out;
  auto done = record(out);
  ASSERT_TRUE(pending.add(id, t0, t0 + milliseconds(100), done));
  EXPECT_FALSE(pending.deliver_part(id, QueryResponseMessage{}, t0));
  EXPECT_EQ(out.calls, 0);
  EXPECT_FALSE(pending.deliver_part(Uuid::random(), QueryResponseMessage{}, t0));
}

}  // namespace
}  // namespace datafold::net::detail
