// Answers of any size travel in parts under the asker's credit; limits end in
// cursors only the same requester can use for the same query. Two (or three) real
// nodes on loopback, with a page callback over a synthetic table.
#include "datafold/net/network_core.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "support/test_nodes.hpp"

namespace datafold::net {
namespace {

using testing::introduce;
using testing::start_node;

// Rows 1..rows, each {n, payload of `payload_bytes`}; a page's position is its last n.
class SyntheticTable {
 public:
  SyntheticTable(int rows, std::size_t payload_bytes) : rows_(rows), payload_(payload_bytes, 'p') {}

  QueryPage page(const Query& query, const PageRequest& request) {
    if (query.schema_name == "T") pages_made_++;
    const int first = request.position.empty() ? 1 : std::stoi(request.position) + 1;
    QueryPage page;
    std::vector<Json> columns(query.fields.size(), Json::array());
    std::size_t bytes = 0;
    int n = first;
    for (; n <= rows_ && page.rows < request.max_rows && (page.rows == 0 || bytes < request.max_bytes); ++n) {
      for (std::size_t i = 0; i < query.fields.size(); ++i)
        columns[i].push_back(query.fields[i] == "n" ? Json(n) : Json(payload_));
      bytes += payload_.size() + 8;
      ++page.rows;
    }
    for (std::size_t i = 0; i < query.fields.size(); ++i)
      page.result.results.push_back(FieldResult{query.fields[i], std::move(columns[i])});
    if (n <= rows_) page.next_position = std::to_string(n - 1);
    return page;
  }

  // Pages made for schema "T" (any other name reads the same rows, uncounted).
  int pages_made() const { return pages_made_.load(); }

 private:
  const int rows_;
  const std::string payload_;
  std::atomic<int> pages_made_{0};
};

class StreamedAnswers : public ::testing::Test {
 protected:
  void serve(int rows, std::size_t payload_bytes) {
    table_ = std::make_shared<SyntheticTable>(rows, payload_bytes);
    server_->set_page_callback([table = table_](const Query& q, const PageRequest& p, const RequestContext&) {
      return table->page(q, p);
    });
  }

  void SetUp() override {
    server_ = start_node();
    client_ = start_node();
    ASSERT_TRUE(server_ && client_);
    introduce(*client_, *server_);
  }

  std::unique_ptr<NetworkCore> server_;
  std::unique_ptr<NetworkCore> client_;
  std::shared_ptr<SyntheticTable> table_;
};

// The n column of every part, in the order they came.
std::vector<int> n_values(const QueryResult& part) {
  std::vector<int> out;
  for (const auto& v : part.find("n")->value()) out.push_back(v.get<int>());
  return out;
}

TEST_F(StreamedAnswers, AnAnswerLargerThanAFrameArrivesInPartsEveryRowOnceInOrder) {
  // 20,000 rows of about 1 KB: 20 MB, more than the 16 MiB frame limit.
  serve(20'000, 1000);
  auto stream = client_->stream_query(server_->local_node_id(), Query{"T", {"n", "payload"}, "", 0, std::nullopt});
  ASSERT_TRUE(stream) << stream.error().to_string();
  int expected = 1;
  int parts = 0;
  for (;;) {
    auto part = (*stream)->next();
    ASSERT_TRUE(part) << part.error().to_string();
    if (!*part) break;
    ++parts;
    for (int n : n_values(**part)) ASSERT_EQ(n, expected++);
    EXPECT_EQ((*part)->find("payload")->value().size(), n_values(**part).size());
  }
  EXPECT_EQ(expected, 20'001);
  EXPECT_GT(parts, 40);  // about 256 KiB each

  // The blocking call joins the parts: the answer that used to exceed the frame.
  auto whole = client_->query_node(server_->local_node_id(), Query{"T", {"n"}, "", 0, std::nullopt});
  ASSERT_TRUE(whole) << whole.error().to_string();
  EXPECT_EQ(whole->find("n")->value().size(), 20'000u);
  EXPECT_EQ(whole->find("n")->value().back(), 20'000);
  EXPECT_TRUE(whole->cursor.empty());
}

TEST_F(StreamedAnswers, ASlowReaderHoldsTheAnswererToItsWindow) {
  serve(50'000, 1000);
  QueryStream::Options options;
  options.window = 4;
  auto stream = client_->stream_query(server_->local_node_id(), Query{"T", {"n", "payload"}, "", 0, std::nullopt},
                                      options);
  ASSERT_TRUE(stream) << stream.error().to_string();
  for (int consumed = 1; consumed <= 5; ++consumed) {
    auto part = (*stream)->next();
    ASSERT_TRUE(part && *part);
    // Time for an answerer that ignored the window to run ahead: it must not.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_LE(table_->pages_made(), consumed + 4 + 1) << "after " << consumed << " parts consumed";
  }
  (*stream)->cancel();
  auto after_cancel = (*stream)->next();
  ASSERT_FALSE(after_cancel);
  EXPECT_EQ(after_cancel.error().message, "cancelled");
  // Cancelled: the answerer stops; at most the part it was making is made.
  const int made_at_cancel = table_->pages_made();

  // The connection carries on: a new query is answered. This peer's requests run in
  // order, so once it is, any part the cancelled answer had scheduled has run too.
  auto small = client_->query_node(server_->local_node_id(), Query{"Other", {"n"}, "", 0, std::nullopt, 3});
  ASSERT_TRUE(small) << small.error().to_string();
  EXPECT_EQ(small->find("n")->value().size(), 3u);
  EXPECT_LE(table_->pages_made(), made_at_cancel + 1);
  EXPECT_LT(table_->pages_made(), 20);
}

TEST_F(StreamedAnswers, PartsWaitingForTheirReaderAreChargedToTheAskersMemoryBudget) {
  serve(50'000, 1000);
  const auto idle = client_->stats().memory_in_use_bytes;
  QueryStream::Options options;
  options.window = 4;
  auto stream = client_->stream_query(server_->local_node_id(), Query{"T", {"n", "payload"}, "", 0, std::nullopt},
                                      options);
  ASSERT_TRUE(stream) << stream.error().to_string();
  // Not reading: the window's parts (about 256 KiB each) arrive and wait, counted.
  constexpr std::uint64_t kThreeParts = 3 * (200u << 10);
  EXPECT_TRUE(testing::eventually([&] { return client_->stats().memory_in_use_bytes >= idle + kThreeParts; }))
      << client_->stats().memory_in_use_bytes << " bytes in use, " << idle << " idle";
  EXPECT_LE(client_->stats().memory_in_use_bytes, idle + 5 * (300u << 10)) << "more than the window is held";
  // Taken, or dropped by cancel: no longer counted.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*stream)->next());
  (*stream)->cancel();
  EXPECT_TRUE(testing::eventually([&] { return client_->stats().memory_in_use_bytes < idle + (200u << 10); }))
      << client_->stats().memory_in_use_bytes << " bytes still in use, " << idle << " idle";
}

TEST_F(StreamedAnswers, AnAnswerTooLargeForTheAskersBudgetFailsClearlyInsteadOfJoining) {
  serve(20'000, 1000);  // about 20 MB
  auto config = testing::loopback_config();
  config.memory_budget_bytes = 8u << 20;
  auto small = start_node(config);
  ASSERT_TRUE(small);
  introduce(*small, *server_);
  auto whole = small->query_node(server_->local_node_id(), Query{"T", {"n", "payload"}, "", 0, std::nullopt});
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().code, ErrorCode::ResourceExhausted);
  EXPECT_NE(whole.error().message.find("memory budget"), std::string::npos) << whole.error().message;
  EXPECT_TRUE(testing::eventually([&] { return small->stats().memory_in_use_bytes < (1u << 20); }))
      << small->stats().memory_in_use_bytes << " bytes still in use";
  // Read in parts, the same answer goes through: each part is let go once read.
  auto stream = small->stream_query(server_->local_node_id(), Query{"T", {"n", "payload"}, "", 0, std::nullopt});
  ASSERT_TRUE(stream);
  std::size_t rows = 0;
  for (;;) {
    auto part = (*stream)->next();
    ASSERT_TRUE(part) << part.error().to_string();
    if (!*part) break;
    rows += (*part)->find("n")->value().size();
  }
  EXPECT_EQ(rows, 20'000u);
}

TEST_F(StreamedAnswers, PagingWithALimitReturnsEveryRowOnceAndCursorsAreBoundToRequesterAndQuery) {
  serve(100'000, 10);
  const Query first{"T", {"n"}, "", 0, std::nullopt, 1'000};
  Query query = first;
  std::vector<int> seen;
  int pages = 0;
  for (;;) {
    auto page = client_->query_node(server_->local_node_id(), query);
    ASSERT_TRUE(page) << page.error().to_string();
    const auto rows = n_values(*page);
    EXPECT_LE(rows.size(), 1'000u);
    seen.insert(seen.end(), rows.begin(), rows.end());
    ++pages;
    if (page->cursor.empty()) break;
    query.cursor = page->cursor;
    ASSERT_LT(pages, 200);
  }
  EXPECT_EQ(pages, 100);
  ASSERT_EQ(seen.size(), 100'000u);
  for (int i = 0; i < 100'000; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], i + 1);

  // A cursor handed to someone else, or used for another query, opens nothing.
  auto page = client_->query_node(server_->local_node_id(), first);
  ASSERT_TRUE(page && !page->cursor.empty());
  auto stranger = start_node();
  ASSERT_TRUE(stranger);
  introduce(*stranger, *server_);
  Query stolen = first;
  stolen.cursor = page->cursor;
  auto refused = stranger->query_node(server_->local_node_id(), stolen);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::PermissionDenied);
  Query other_query{"T", {"n", "payload"}, "", 0, std::nullopt, 1'000, page->cursor};
  auto refused_too = client_->query_node(server_->local_node_id(), other_query);
  ASSERT_FALSE(refused_too);
  EXPECT_EQ(refused_too.error().code, ErrorCode::PermissionDenied);
  // The owner, for the same query, continues where it left off.
  auto next = client_->query_node(server_->local_node_id(), stolen);
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(n_values(*next).front(), 1'001);
}

TEST_F(StreamedAnswers, AStreamedAnswerWithALimitEndsWithACursor) {
  serve(10'000, 10);
  auto stream = client_->stream_query(server_->local_node_id(), Query{"T", {"n"}, "", 0, std::nullopt, 2'500});
  ASSERT_TRUE(stream);
  std::vector<int> seen;
  std::string cursor;
  for (;;) {
    auto part = (*stream)->next();
    ASSERT_TRUE(part) << part.error().to_string();
    if (!*part) break;
    const auto rows = n_values(**part);
    seen.insert(seen.end(), rows.begin(), rows.end());
    cursor = (*part)->cursor;
  }
  EXPECT_EQ(seen.size(), 2'500u);
  ASSERT_FALSE(cursor.empty());
  auto rest = client_->query_node(server_->local_node_id(), Query{"T", {"n"}, "", 0, std::nullopt, 0, cursor});
  ASSERT_TRUE(rest) << rest.error().to_string();
  EXPECT_EQ(rest->find("n")->value().size(), 7'500u);
  EXPECT_EQ(rest->find("n")->value().front(), 2'501);
}

TEST_F(StreamedAnswers, TheAnswererStoppingFailsTheReaderAtOnce) {
  serve(1'000'000, 1000);
  QueryStream::Options options;
  options.window = 2;
  auto stream = client_->stream_query(server_->local_node_id(), Query{"T", {"n", "payload"}, "", 0, std::nullopt},
                                      options);
  ASSERT_TRUE(stream);
  auto part = (*stream)->next();
  ASSERT_TRUE(part && *part);
  ASSERT_TRUE(server_->stop());
  // Whatever was already on its way may still be read; then the end is an error.
  for (int i = 0; i < 10; ++i) {
    auto more = (*stream)->next();
    if (!more) {
      EXPECT_NE(more.error().kind, ErrorKind::Timeout) << more.error().to_string();
      return;
    }
    ASSERT_TRUE(*more) << "an answer cut short must not look complete";
  }
  FAIL() << "the stream went on after its answerer stopped";
}

}  // namespace
}  // namespace datafold::net
