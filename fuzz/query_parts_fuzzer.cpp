// libFuzzer target: a hostile answerer of a query asked in parts, and hostile
// cursors. The input is a stream of frames; every envelope that decodes is handed
// to a QueryStream and to a whole-answer asker (QueryService::send_query_whole) as
// the connection would hand them their replies, and every QueryRequest's cursor is
// opened by a node's QueryCursors.
// Invariants: nothing crashes; the stream hands its handler parts in order and
// nothing after the last or after the handler asked for no more; it never credits more parts than it was given;
// the whole-answer asker answers its caller exactly once, by the connection's end at
// the latest, and credits no more parts than it was sent; a cursor
// opens only when this node sealed it (never, for fuzzer bytes, unless it sealed
// exactly those).
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "datafold/net/connection.hpp"
#include "datafold/net/message_codec.hpp"
#include "datafold/net/query_service.hpp"
#include "datafold/net/query_stream.hpp"
#include "services/query_cursor.hpp"

namespace {

using namespace datafold::net;

void check(bool ok) {
  if (!ok) std::abort();
}

// A connection that hands replies to whoever asked in parts, when the fuzzer says.
class ScriptedConnection final : public Connection {
 public:
  const NodeId& node_id() const noexcept override { return id_; }
  const PublicKey& peer_public_key() const noexcept override { return key_; }
  std::uint32_t protocol_version() const noexcept override { return 1; }
  std::string remote_address() const override { return "127.0.0.1:1"; }
  bool inbound() const noexcept override { return false; }
  ConnectionState state() const noexcept override { return ConnectionState::Open; }
  bool is_healthy() const noexcept override { return true; }
  std::size_t pending_requests() const noexcept override { return on_part ? 1 : 0; }
  void request(const Message&, Completion done, std::chrono::milliseconds) override {
    done(make_error(ErrorKind::Connection, "not here"));
  }
  void request_parts(const Message&, Completion part, std::chrono::milliseconds) override { on_part = std::move(part); }
  void send_message(const Message& message) override {
    if (const auto* credit = std::get_if<QueryCreditMessage>(&message)) {
      if (credit->cancel) ++cancels;
      credits += credit->parts;
    }
  }
  void close() override {}

  Completion on_part;
  std::uint64_t credits = 0;
  std::uint64_t cancels = 0;

 private:
  NodeId id_;
  PublicKey key_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  static const detail::QueryCursors cursors(std::array<std::uint8_t, 32>{7});
  static const PublicKey requester{std::array<std::uint8_t, 32>{1}};

  auto connection = std::make_shared<ScriptedConnection>();
  QueryMessage request;
  request.query_id = Uuid::random();
  // Not `= "S"`: GCC 12 misreads that assignment as an overlapping memcpy (-Wrestrict,
  // GCC bug 105329) in the replay build.
  request.query.schema_name.push_back('S');
  std::uint64_t handed = 0;
  bool ended = false;
  // The first byte decides how long the handler keeps reading before it stops.
  const std::uint64_t stop_after = size > 0 ? data[0] % 16 : 0;
  auto stream = QueryStream::start(connection, request, {4, std::chrono::milliseconds(1000)},
                                   [&](NetworkResult<QueryResult>, bool last) {
                                     check(!ended);
                                     ++handed;
                                     // Asking for no more ends it too: nothing comes after.
                                     ended = last || handed >= stop_after;
                                     return !ended;
                                   });
  check(static_cast<bool>(connection->on_part));
  auto whole_connection = std::make_shared<ScriptedConnection>();
  std::uint64_t whole_answers = 0;
  std::uint64_t replies = 0;
  QueryService::send_query_whole(whole_connection, true, QueryMessage(request), std::chrono::milliseconds(1000),
                                 [&](NetworkResult<QueryResult>) { ++whole_answers; });
  check(static_cast<bool>(whole_connection->on_part));

  FrameDecoder frames;
  if (size > 1) frames.feed({data + 1, size - 1});
  std::span<const std::uint8_t> payload;
  while (frames.next(payload) == FrameDecoder::Status::Frame) {
    auto decoded = decode_envelope(payload);
    if (!decoded) continue;
    if (auto* query = std::get_if<QueryMessage>(&*decoded)) {
      // Fuzzer bytes are not a cursor this node sealed...
      if (auto position = cursors.open(requester, query->query, query->query.cursor))
        check(cursors.seal(requester, query->query, *position) == query->query.cursor);
      // ...and one it sealed opens, for exactly that requester and query.
      const auto sealed = cursors.seal(requester, query->query, query->query.schema_name.substr(0, 64));
      check(cursors.open(requester, query->query, sealed) == query->query.schema_name.substr(0, 64));
      continue;
    }
    // Whatever the "answerer" sends, as replies to the query.
    if (auto* response = std::get_if<QueryResponseMessage>(&*decoded)) response->query_id = request.query_id;
    ++replies;
    whole_connection->on_part(*decoded);
    connection->on_part(std::move(*decoded));
  }
  // The connection's end always comes: it must end the stream if nothing else did.
  connection->on_part(make_error(ErrorKind::Connection, "closed"));
  whole_connection->on_part(make_error(ErrorKind::Connection, "closed"));
  check(ended);
  check(connection->credits <= handed);
  check(whole_answers == 1);
  check(whole_connection->credits <= replies);
  check(whole_connection->cancels <= 1);
  return 0;
}
