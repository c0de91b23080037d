// libFuzzer target: arbitrary bytes as one envelope (a frame's payload).
// decode_envelope must return (never crash, throw or recurse without bound),
// and whatever decodes must re-encode to bytes that decode again and
// re-encode identically, framed or not. And the hot codec (core/hot_codec.hpp)
// agrees with protobuf's path: an envelope it takes, protobuf's takes too, to the
// same message, and what it writes is protobuf's bytes. What a peek at a query
// (peek_hot_query, hot_query_id) reads is what decoding it gives.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/hot_codec.hpp"
#include "datafold/net/message_codec.hpp"

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Protobuf logs every string field that is not UTF-8; the fuzzer makes many.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  using namespace datafold::net;

  if (auto hot = detail::decode_hot_envelope({data, size})) {
    auto slow = detail::decode_envelope_by_protobuf({data, size});
    check(slow.ok());
    check(detail::encode_envelope_by_protobuf(*slow) == detail::encode_envelope_by_protobuf(*hot));
  }

  auto decoded = decode_envelope({data, size});
  // A query handed on undecoded (peek_hot_query) decodes to a query with the peeked
  // stream window, or to nothing.
  if (const auto stream_window = detail::peek_hot_query({data, size}); stream_window && decoded) {
    const auto* query = std::get_if<QueryMessage>(&*decoded);
    check(query != nullptr && query->stream_window == *stream_window);
    // And its id is the one hinted at before decoding (hot_query_id). (Only a hint for
    // other layouts: protobuf takes the last of two ids, the hint the first.)
    const auto query_id = detail::hot_query_id({data, size});
    check(query_id && query->query_id == *query_id);
  }
  if (!decoded) {
    check(decoded.error().code == ErrorCode::InvalidMessage ||
          decoded.error().code == ErrorCode::ResourceExhausted);
    return 0;
  }
  const Message& message = *decoded;
  (void)to_string(type_of(message));
  (void)message_id(message);
  (void)related_message_id(message);

  const std::string once = encode_envelope(message);
  check(once == detail::encode_envelope_by_protobuf(message));  // the hot encoder writes protobuf's bytes
  auto again = decode_envelope(bytes_of(once));
  check(again.ok());
  check(type_of(*again) == type_of(message));
  check(message_id(*again) == message_id(message));
  check(related_message_id(*again) == related_message_id(message));
  check(encode_envelope(*again) == once);

  // The same envelope framed, read back through the frame decoder.
  std::string frame;
  append_frame(message, frame);
  FrameDecoder frames;
  frames.feed(bytes_of(frame));
  std::span<const std::uint8_t> payload;
  check(frames.next(payload) == FrameDecoder::Status::Frame);
  check(std::string(reinterpret_cast<const char*>(payload.data()), payload.size()) == once);
  check(frames.buffered_bytes() == 0);
  return 0;
}
