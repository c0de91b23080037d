#include "datafold/net/message_codec.hpp"
#include "core/spare_buffers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace datafold::net {
namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string to_string(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

Uuid id(std::uint8_t n) {
  std::array<std::uint8_t, Uuid::kSize> b{};
  b[0] = n;
  b[6] = 0x40;
  b[8] = 0x80;
  return Uuid{b};
}

std::string header(std::uint32_t len) {
  return {static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
          static_cast<char>(len)};
}

// A stream of varied frames and the envelope each one carries.
struct Stream {
  std::string bytes;
  std::vector<std::string> envelopes;
};

Stream sample_stream() {
  Stream s;
  std::vector<Message> messages;
  messages.emplace_back(PingMessage{id(1), 42});
  QueryResponseMessage r;
  r.message_id = id(2);
  r.query_id = id(3);
  r.result.results = {{"name", Json(std::string(300, 'x'))}};  // a multi-byte length varint inside
  messages.emplace_back(r);
  messages.emplace_back(ListSchemasRequestMessage{id(4)});
  for (const auto& m : messages) {
    append_frame(m, s.bytes);
    s.envelopes.push_back(encode_envelope(m));
  }
  // An empty frame: valid framing, an envelope that then fails to decode.
  s.bytes += header(0);
  s.envelopes.emplace_back();
  return s;
}

// Drains every whole frame now buffered.
std::vector<std::string> drain(FrameDecoder& d) {
  std::vector<std::string> out;
  std::span<const std::uint8_t> payload;
  FrameDecoder::Status status;
  while ((status = d.next(payload)) == FrameDecoder::Status::Frame) out.push_back(to_string(payload));
  EXPECT_EQ(status, FrameDecoder::Status::NeedMore);
  return out;
}

TEST(FrameDecoder, EmptyDecoderNeedsMore) {
  FrameDecoder d;
  std::span<const std::uint8_t> payload;
  EXPECT_EQ(d.next(payload), FrameDecoder::Status::NeedMore);
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(FrameDecoder, SplitAtEveryByteBoundary) {
  const Stream s = sample_stream();
  for (std::size_t cut = 0; cut <= s.bytes.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    FrameDecoder d;
    d.feed(bytes_of(s.bytes.substr(0, cut)));
    auto got = drain(d);
    d.feed(bytes_of(s.bytes.substr(cut)));
    auto rest = drain(d);
    got.insert(got.end(), rest.begin(), rest.end());
    EXPECT_EQ(got, s.envelopes);
    EXPECT_EQ(d.buffered_bytes(), 0u);
  }
}

TEST(FrameDecoder, SplitAtEveryPairOfBoundaries) {
  const Stream s = sample_stream();
  const std::size_t n = s.bytes.size();
  for (std::size_t a = 0; a <= n; a += 3) {
    for (std::size_t b = a; b <= n; b += 7) {
      FrameDecoder d;
      std::vector<std::string> got;
      for (auto [from, to] : {std::pair{std::size_t{0}, a}, std::pair{a, b}, std::pair{b, n}}) {
        d.feed(bytes_of(s.bytes.substr(from, to - from)));
        auto part = drain(d);
        got.insert(got.end(), part.begin(), part.end());
      }
      ASSERT_EQ(got, s.envelopes) << "cuts at " << a << " and " << b;
    }
  }
}

TEST(FrameDecoder, OneByteAtATime) {
  const Stream s = sample_stream();
  FrameDecoder d;
  std::vector<std::string> got;
  for (char c : s.bytes) {
    const auto byte = static_cast<std::uint8_t>(c);
    d.feed(std::span<const std::uint8_t>(&byte, 1));
    auto part = drain(d);
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, s.envelopes);
}

TEST(FrameDecoder, ManyFramesInOneChunk) {
  std::string chunk;
  std::vector<std::string> want;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    const Message m = PingMessage{id(static_cast<std::uint8_t>(i)), i};
    append_frame(m, chunk);
    want.push_back(encode_envelope(m));
  }
  FrameDecoder d;
  d.feed(bytes_of(chunk));
  const auto got = drain(d);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(got, want);
  // Each decodes to the message that was framed.
  auto decoded = decode_envelope(bytes_of(got[4321]));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<PingMessage>(*decoded).sent_at_us, 4321u);
}

TEST(FrameDecoder, EmptyFrameIsAFrameButNotAMessage) {
  FrameDecoder d;
  d.feed(bytes_of(header(0)));
  std::span<const std::uint8_t> payload;
  ASSERT_EQ(d.next(payload), FrameDecoder::Status::Frame);
  EXPECT_TRUE(payload.empty());
  auto decoded = decode_envelope(payload);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::InvalidMessage);  // no message_id
}

TEST(FrameDecoder, TooLargeLength) {
  FrameDecoder d(1000);
  d.feed(bytes_of(header(1001)));
  std::span<const std::uint8_t> payload;
  EXPECT_EQ(d.next(payload), FrameDecoder::Status::TooLarge);
  EXPECT_EQ(d.announced_length(), 1001u);
  // Decided from the header alone, before any body arrives, and it stays
  // that way: the stream cannot be resynchronised.
  d.feed(bytes_of(std::string(50, 'x')));
  EXPECT_EQ(d.next(payload), FrameDecoder::Status::TooLarge);

  FrameDecoder big;  // default limit
  big.feed(bytes_of(header(0xffffffffu)));
  EXPECT_EQ(big.next(payload), FrameDecoder::Status::TooLarge);
  EXPECT_EQ(big.announced_length(), 0xffffffffu);

  FrameDecoder at_default;
  at_default.feed(bytes_of(header(static_cast<std::uint32_t>(kDefaultMaxFrameBytes + 1))));
  EXPECT_EQ(at_default.next(payload), FrameDecoder::Status::TooLarge);
}

TEST(FrameDecoder, LengthAtTheLimitIsAccepted) {
  FrameDecoder d(1000);
  const std::string body(1000, 'b');
  d.feed(bytes_of(header(1000)));
  std::span<const std::uint8_t> payload;
  EXPECT_EQ(d.next(payload), FrameDecoder::Status::NeedMore);
  d.feed(bytes_of(body.substr(0, 999)));
  EXPECT_EQ(d.next(payload), FrameDecoder::Status::NeedMore);
  d.feed(bytes_of(body.substr(999)));
  ASSERT_EQ(d.next(payload), FrameDecoder::Status::Frame);
  EXPECT_EQ(to_string(payload), body);
}

TEST(FrameDecoder, TooLargeAfterGoodFrames) {
  std::string bytes;
  append_frame(PingMessage{id(1), 1}, bytes);
  bytes += header(2000);
  FrameDecoder d(1000);
  d.feed(bytes_of(bytes));
  std::span<const std::uint8_t> payload;
  EXPECT_EQ(d.next(payload), FrameDecoder::Status::Frame);
  EXPECT_EQ(d.next(payload), FrameDecoder::Status::TooLarge);
  EXPECT_EQ(d.announced_length(), 2000u);
}

TEST(FrameDecoder, PrepareAndCommitReadInPlace) {
  const Stream s = sample_stream();
  FrameDecoder d;
  std::vector<std::string> got;
  std::size_t pos = 0;
  std::size_t step = 1;
  while (pos < s.bytes.size()) {
    // Ask for more than arrives, as a socket read does.
    auto space = d.prepare(step + 10);
    ASSERT_GE(space.size(), step + 10);
    const std::size_t n = std::min(step, s.bytes.size() - pos);
    std::memcpy(space.data(), s.bytes.data() + pos, n);
    d.commit(n);
    pos += n;
    step = step * 2 + 1;
    auto part = drain(d);
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, s.envelopes);
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(FrameDecoder, PrepareKeepsUnconsumedBytes) {
  std::string frame;
  append_frame(PingMessage{id(9), 99}, frame);
  FrameDecoder d;
  // Part of a frame is buffered; a large prepare (which may move or grow the
  // buffer) must keep it.
  d.feed(bytes_of(frame.substr(0, 5)));
  auto space = d.prepare(1 << 20);
  std::memcpy(space.data(), frame.data() + 5, frame.size() - 5);
  d.commit(frame.size() - 5);
  std::span<const std::uint8_t> payload;
  ASSERT_EQ(d.next(payload), FrameDecoder::Status::Frame);
  EXPECT_EQ(to_string(payload), frame.substr(kFrameHeaderBytes));
}

TEST(FrameDecoder, ReleaseKeepsAHalfReceivedFrame) {
  // An idle connection's reader releases the buffer before each wait; it must never
  // drop bytes of a frame still arriving.
  std::string frame;
  append_frame(PingMessage{id(9), 99}, frame);
  FrameDecoder d;
  d.feed(bytes_of(frame.substr(0, 7)));
  d.release();
  EXPECT_EQ(d.buffered_bytes(), 7u);
  d.feed(bytes_of(frame.substr(7)));
  std::span<const std::uint8_t> payload;
  ASSERT_EQ(d.next(payload), FrameDecoder::Status::Frame);
  EXPECT_EQ(to_string(payload), frame.substr(kFrameHeaderBytes));
}

TEST(FrameDecoder, ReleasedDecoderReadsOnAsBefore) {
  std::string frame;
  append_frame(PingMessage{id(9), 99}, frame);
  FrameDecoder d;
  for (int round = 0; round < 3; ++round) {
    d.release();  // nothing buffered: the buffer goes, and the next read makes one
    auto space = d.prepare(frame.size());
    std::memcpy(space.data(), frame.data(), frame.size());
    d.commit(frame.size());
    std::span<const std::uint8_t> payload;
    ASSERT_EQ(d.next(payload), FrameDecoder::Status::Frame) << "round " << round;
    EXPECT_EQ(to_string(payload), frame.substr(kFrameHeaderBytes));
    EXPECT_EQ(d.next(payload), FrameDecoder::Status::NeedMore);
  }
}

TEST(FrameDecoder, TheNextReadOnThisThreadReusesAReleasedBuffer) {
  // A busy I/O thread releases a connection's buffer whenever its socket runs dry and
  // wants one again at the next readable event: the same memory, not a new allocation.
  // (Earlier tests on this thread may have filled its spares: a full set keeps no more.)
  while (detail::SpareBuffers::of_this_thread().take(0).bytes) {
  }
  FrameDecoder first;
  const auto* released = first.prepare(16 * 1024).data();
  first.release();
  FrameDecoder second;  // another connection served by the same thread
  EXPECT_EQ(second.prepare(16 * 1024).data(), released);
}

TEST(FrameDecoder, AReusedBufferCarriesNoBytesOfItsLastUse) {
  std::string frame;
  append_frame(PingMessage{id(9), 99}, frame);
  FrameDecoder d;
  d.feed(bytes_of(frame));
  std::span<const std::uint8_t> payload;
  ASSERT_EQ(d.next(payload), FrameDecoder::Status::Frame);
  d.release();
  FrameDecoder other;
  EXPECT_EQ(other.buffered_bytes(), 0u);
  (void)other.prepare(frame.size());
  EXPECT_EQ(other.buffered_bytes(), 0u);
  EXPECT_EQ(other.next(payload), FrameDecoder::Status::NeedMore);
}

TEST(FrameDecoder, CommitZeroAddsNothing) {
  FrameDecoder d;
  (void)d.prepare(100);
  d.commit(0);
  EXPECT_EQ(d.buffered_bytes(), 0u);
}

TEST(FrameDecoder, LongRunningStreamStaysCompact) {
  // A long stream read in chunks that never line up with frames: the
  // decoder must keep only the partial frame, not everything ever read.
  std::string frames;
  for (std::uint32_t i = 0; i < 200; ++i) append_frame(PingMessage{id(1), i}, frames);
  FrameDecoder d;
  std::size_t total = 0;
  for (int round = 0; round < 200; ++round) {
    for (std::size_t pos = 0; pos < frames.size(); pos += 37) {
      d.feed(bytes_of(frames.substr(pos, 37)));
      total += drain(d).size();
      EXPECT_LT(d.buffered_bytes(), 64u);
    }
  }
  EXPECT_EQ(total, 200u * 200u);
}

TEST(FrameDecoder, LargeFrameThenSmallOnes) {
  FrameDecoder d;
  const std::string big(3u << 20, 'z');
  d.feed(bytes_of(header(static_cast<std::uint32_t>(big.size()))));
  d.feed(bytes_of(big));
  std::span<const std::uint8_t> payload;
  ASSERT_EQ(d.next(payload), FrameDecoder::Status::Frame);
  EXPECT_EQ(payload.size(), big.size());
  EXPECT_EQ(d.buffered_bytes(), 0u);
  std::string small;
  append_frame(PingMessage{id(2), 2}, small);
  d.feed(bytes_of(small));
  ASSERT_EQ(d.next(payload), FrameDecoder::Status::Frame);
  EXPECT_EQ(to_string(payload), small.substr(kFrameHeaderBytes));
}

}  // namespace
}  // namespace datafold::net
