// libFuzzer target: a hostile byte stream through FrameDecoder and
// decode_envelope, as a connection's reader sees it.
//
// The input is the raw stream (seeds are ordinary frames). It is read three
// ways, which must agree: whole, one byte at a time through feed(), and in
// pseudo-random chunks through prepare()/commit() with a small frame limit.
// Every envelope that decodes must re-encode to bytes that decode again and
// re-encode identically.
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "datafold/net/message_codec.hpp"

namespace {

using datafold::net::FrameDecoder;

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void check(bool ok) {
  if (!ok) std::abort();
}

void check_reencodes(std::span<const std::uint8_t> envelope) {
  auto decoded = datafold::net::decode_envelope(envelope);
  if (!decoded) return;
  const std::string once = datafold::net::encode_envelope(*decoded);
  auto again = datafold::net::decode_envelope(bytes_of(once));
  check(again.ok());
  check(datafold::net::encode_envelope(*again) == once);

  std::string frame = "x";  // append_frame must keep what is already there
  datafold::net::append_frame(*again, frame);
  check(frame.size() == 1 + datafold::net::kFrameHeaderBytes + once.size());
  check(frame.compare(1 + datafold::net::kFrameHeaderBytes, std::string::npos, once) == 0);
}

struct Outcome {
  std::vector<std::string> frames;
  bool too_large = false;
  std::size_t announced = 0;
};

// Pulls every whole frame now buffered. Returns false once the stream is dead.
bool drain(FrameDecoder& d, std::size_t max_frame, Outcome& out, bool decode) {
  std::span<const std::uint8_t> payload;
  for (;;) {
    switch (d.next(payload)) {
      case FrameDecoder::Status::Frame:
        check(payload.size() <= max_frame);
        out.frames.emplace_back(reinterpret_cast<const char*>(payload.data()), payload.size());
        if (decode) check_reencodes(payload);
        break;
      case FrameDecoder::Status::TooLarge:
        check(d.announced_length() > max_frame);
        out.too_large = true;
        out.announced = d.announced_length();
        return false;
      case FrameDecoder::Status::NeedMore:
        return true;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Protobuf logs every string field that is not UTF-8; the fuzzer makes many.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  const std::span<const std::uint8_t> input(data, size);

  // Whole stream at once, default limit; this pass also decodes each frame.
  Outcome whole;
  {
    FrameDecoder d;
    d.feed(input);
    if (drain(d, datafold::net::kDefaultMaxFrameBytes, whole, true)) {
      // Everything not handed out as a frame is still buffered, and it is
      // less than a whole frame.
      std::size_t consumed = 0;
      for (const auto& f : whole.frames) consumed += datafold::net::kFrameHeaderBytes + f.size();
      check(d.buffered_bytes() == size - consumed);
    }
  }

  // One byte at a time: the same frames.
  {
    Outcome bytewise;
    FrameDecoder d;
    for (std::size_t i = 0; i < size; ++i) {
      d.feed(input.subspan(i, 1));
      if (!drain(d, datafold::net::kDefaultMaxFrameBytes, bytewise, false)) break;
    }
    check(bytewise.frames == whole.frames);
    check(bytewise.too_large == whole.too_large);
  }

  // Random chunks written in place, with a small limit: the same frames up to
  // the first one over the limit, which must then be reported.
  {
    constexpr std::size_t kSmallLimit = 64;
    Outcome chunked;
    FrameDecoder d(kSmallLimit);
    std::uint32_t rng = static_cast<std::uint32_t>(size) * 2654435761u + 1;
    std::size_t pos = 0;
    bool alive = true;
    while (alive && pos < size) {
      rng = rng * 1103515245u + 12345u;
      const std::size_t want = 1 + (rng >> 16) % 97;
      const std::size_t n = std::min(want, size - pos);
      auto space = d.prepare(want);
      check(space.size() >= want);
      std::memcpy(space.data(), data + pos, n);
      d.commit(n);
      pos += n;
      alive = drain(d, kSmallLimit, chunked, false);
    }
    std::size_t small = 0;
    while (small < whole.frames.size() && whole.frames[small].size() <= kSmallLimit) ++small;
    check(chunked.frames.size() == small);
    for (std::size_t i = 0; i < small; ++i) check(chunked.frames[i] == whole.frames[i]);
    if (small < whole.frames.size()) check(chunked.too_large && chunked.announced == whole.frames[small].size());
  }
  return 0;
}
