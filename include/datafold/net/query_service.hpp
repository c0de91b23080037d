// QueryService: answers queries from peers (server side) and sends queries to
// peers (client side).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "datafold/net/connection.hpp"
#include "datafold/net/identity.hpp"
#include "datafold/net/message.hpp"
#include "datafold/net/message_handler.hpp"
#include "datafold/net/query.hpp"
#include "datafold/net/request_context.hpp"

namespace datafold::net {

namespace detail {
class ReplayCache;   // src/services/replay_cache.hpp
class QueryCursors;  // src/services/query_cursor.hpp
}

// What a paged query callback is asked for: the rows after `position`.
struct PageRequest {
  std::string position;       // where the previous page ended; "": the first row
  std::size_t max_rows = 0;   // at most this many rows
  std::size_t max_bytes = 0;  // stop once about this many bytes of values are taken (at least one row)
};

// A page of an answer: its rows, and where the next page starts.
struct QueryPage {
  QueryResult result;         // this page's rows, one entry per requested field
  std::size_t rows = 0;       // how many rows `result` holds
  std::string next_position;  // "": no rows remain. Opaque to the network layer,
                              // which seals it into a cursor before a peer sees it.
};

class QueryService : public MessageHandler {
 public:
  using Callback = std::function<QueryResult(Query, const RequestContext&)>;
  // Answers a page at a time: what streamed answers and limits/cursors need. The
  // query is the verified one (as for Callback); `position` comes back only as this
  // callback returned it, for the same requester and query.
  using PageCallback = std::function<QueryPage(const Query&, const PageRequest&, const RequestContext&)>;
  // The distance this node's trust store gives a key.
  using TrustLookup = std::function<std::uint32_t(const PublicKey&)>;
  // Unix time in milliseconds. The system clock unless a test supplies its own.
  using Clock = std::function<std::int64_t()>;

  // How far a signed proof's timestamp may be from this node's clock, either way.
  static constexpr std::chrono::milliseconds kMaxProofSkew{60'000};
  // How long a query id is remembered. Two skew windows: a proof accepted at the
  // edge of one window stays refusable until its timestamp is out of the other.
  static constexpr std::chrono::milliseconds kReplayRetention = 2 * kMaxProofSkew;
  // At most this many ids are remembered (about 6 MiB); past it the oldest go first.
  static constexpr std::size_t kReplayCacheCapacity = 65'536;

  // Streamed answers (PROTOCOL.md 7.8). A part holds about kPartBytes of values
  // (well under any frame limit, small enough that a window of parts is a few MiB)
  // and at most kMaxPartRows rows.
  static constexpr std::size_t kPartBytes = 256u << 10;
  static constexpr std::size_t kMaxPartRows = 16'384;
  // The parts an asker lets the answerer send ahead by default, and the most an
  // answerer allows whatever the asker asks: at most kMaxStreamWindow x kPartBytes
  // (4 MiB) of one answer is queued or in flight.
  static constexpr std::uint32_t kDefaultStreamWindow = 8;
  static constexpr std::uint32_t kMaxStreamWindow = 16;
  // query_node and execute_query collect a whole answer up to this many bytes of
  // values; a larger one is for QueryStream or a limit.
  static constexpr std::size_t kMaxWholeAnswerBytes = 64u << 20;

  // A query let in: its requester verified, its cursor opened (see handle()).
  struct Admitted {
    Uuid query_id;
    Query query;              // pub_key and trust_distance the verified ones
    RequestContext context;   // the verified requester
    std::string position;     // from the query's cursor; "": the first row
  };

  explicit QueryService(TrustLookup trust_lookup, Clock clock = {});
  ~QueryService() override;

  void set_query_callback(std::function<QueryResult(Query)> callback);
  void set_query_callback(Callback callback);
  // Replaces any Callback: queries are answered a page at a time.
  void set_page_callback(PageCallback callback);

  // Runs the local callback: QueryFailed if none is set, InternalError if it throws.
  NetworkResult<QueryResult> execute_query(Query query, const RequestContext& context) const;

  // A hint that a query with this id is about to be answered (admit(), handle()):
  // the replay cache starts loading the slot it will check, a cache miss that
  // decoding the query then hides. Does nothing else; safe from any thread.
  void expect(const Uuid& query_id) const noexcept;

  // Server side, in steps, for answers in parts. admit() checks the proof and the
  // cursor as handle() does; next_part() runs the callback for up to `max_rows`
  // rows after `position`. A part whose rows leave more behind carries, in
  // result.cursor, the sealed cursor for continuing after it. With a whole-answer
  // Callback (no PageCallback) the first part is the whole answer.
  NetworkResult<Admitted> admit(const QueryMessage& request, const RequestContext& context);
  // The same, taking the request's query rather than copying it.
  NetworkResult<Admitted> admit(QueryMessage&& request, const RequestContext& context);
  NetworkResult<QueryPage> next_part(const Admitted& admitted, const std::string& position,
                                     std::size_t max_rows, std::size_t max_bytes) const;

  // Client side: sends `query` with `proof` over `connection`. `done` runs on the
  // connection's I/O thread with the result, the peer's error, a Timeout or a
  // Connection error.
  static void query_node(Connection& connection, Query query, TrustProof proof,
                         std::chrono::milliseconds timeout,
                         std::function<void(NetworkResult<QueryResult>)> done);
  // The same for a request built by the caller, e.g. one whose proof was signed
  // (make_trust_proof) over its query id by another node.
  static void send_query(Connection& connection, QueryMessage request, std::chrono::milliseconds timeout,
                         std::function<void(NetworkResult<QueryResult>)> done);
  // As send_query, taking the answer in parts when the peer can send them (its
  // Hello's streamed_answers) and joining them: answers of any size up to
  // kMaxWholeAnswerBytes, beyond which it fails with ResourceExhausted.
  // `timeout` bounds the wait for each part. The request is taken, not copied.
  static void send_query_whole(const std::shared_ptr<Connection>& connection, bool peer_streams,
                               QueryMessage&& request, std::chrono::milliseconds timeout,
                               std::function<void(NetworkResult<QueryResult>)> done);
  // The outcome by reference: callbacks that hand it on to others pass it without a
  // move at each step.
  using Outcome = std::function<void(NetworkResult<QueryResult>&&)>;
  // The same for a `request` holding a QueryMessage, which is read, not taken: the
  // caller keeps it (to send it again, say). Only its stream_window is set here.
  static void send_query_whole(const std::shared_ptr<Connection>& connection, bool peer_streams, Message& request,
                               std::chrono::milliseconds timeout, Outcome done);

  // Server side (DESIGN.md section 9), for an answer in one reply. The proof is
  // checked before the callback runs; every failure is TrustValidationFailed:
  //  - proof key == the connection's proven key: a signature is optional (the TLS
  //    session proves possession) but must verify if present;
  //  - any other key (a query relayed on that key's behalf): a signature is
  //    required and must verify, and the timestamp must be within kMaxProofSkew;
  //  - a query id seen in the last kReplayRetention is refused (after the
  //    signature check, so a forgery cannot burn a genuine id).
  // The requester is then the proof's key; the callback sees it (Query::pub_key,
  // RequestContext public_key and node_id) and the effective distance, the largest
  // of both claimed distances and the trust store's distance for that key.
  // A cursor must be one this node made for the same requester and query
  // (PermissionDenied otherwise). The answer holds at most query.limit rows (all,
  // with no limit), and if rows remain, a cursor; an answer with no limit that is
  // larger than kMaxWholeAnswerBytes fails with ResourceExhausted.
  NetworkResult<std::optional<Message>> handle(const Message& message,
                                               const RequestContext& context) override;
  std::vector<MessageType> message_types() const override { return {MessageType::Query}; }
  // handle() for a request the caller gives up: its query is not copied.
  NetworkResult<std::optional<Message>> answer(QueryMessage&& request, const RequestContext& context);

 private:
  // send_query for a `request` holding a QueryMessage, read and not taken.
  static void ask_once(Connection& connection, const Message& request, std::chrono::milliseconds timeout,
                       Outcome done);
  // Every row (up to query.limit) in one part; fails when that is more than kMaxWholeAnswerBytes.
  // Takes the admitted query: a whole-answer callback is handed it without a copy.
  NetworkResult<QueryResult> whole_answer(Admitted&& admitted) const;
  // next_part(); with `spent_query` (admitted's own query, not needed after), a
  // whole-answer Callback gets the query moved to it rather than copied.
  NetworkResult<QueryPage> make_part(const Admitted& admitted, Query* spent_query, const std::string& position,
                                     std::size_t max_rows, std::size_t max_bytes) const;
  // Admission, into `admitted` (in place: an answer made at once need not move it
  // through a NetworkResult): the requester verified, `request`'s query taken with the
  // verified key and distance set, and its cursor opened. Why it is refused, or nothing.
  std::optional<NetworkError> admit_into(Admitted& admitted, QueryMessage&& request, const RequestContext& context);
  // A whole answer to an admitted query (or why there is none), as handle() replies.
  NetworkResult<std::optional<Message>> reply_whole(Admitted&& admitted) const;
  NetworkResult<RequestContext> verify_requester(const QueryMessage& request, const RequestContext& context);

  // The whole-answer callback in the form it was given: one without a context is
  // called as it is, not through a wrapper that would move each query twice more.
  struct WholeCallback {
    std::function<QueryResult(Query)> plain;
    Callback with_context;
    QueryResult operator()(Query&& query, const RequestContext& context) const {
      return plain ? plain(std::move(query)) : with_context(std::move(query), context);
    }
  };

  mutable std::shared_mutex mutex_;
  std::shared_ptr<const WholeCallback> callback_;
  std::shared_ptr<const PageCallback> page_callback_;
  TrustLookup trust_lookup_;
  Clock clock_;
  std::unique_ptr<detail::ReplayCache> replay_;
  std::unique_ptr<detail::QueryCursors> cursors_;
};

// Builds the trust proof for sending `query` under `query_id`, claiming
// `claimed_distance`, stamped `now_ms` (Unix ms). With `sign`, the proof carries
// `identity`'s signature over the canonical bytes (src/trust_proof.hpp,
// docs/PROTOCOL.md 7.2), which a node needs to accept it from any connection but
// `identity`'s own. Without, it costs no public-key operation: enough on a direct
// connection.
TrustProof make_trust_proof(const Identity& identity, const Uuid& query_id, const Query& query,
                            std::uint32_t claimed_distance, std::int64_t now_ms, bool sign);

}  // namespace datafold::net
