// libFuzzer target: the records a connection opens after its TLS handshake
// (TlsRecordLayer, RFC 8446 section 5), as a peer could send them.
//
// The input is a script. Its first byte picks the cipher suite; then come steps of
// [op][length][bytes]: op 0 appends the bytes to the stream as they are (garbage,
// or a record of the fuzzer's own making), 1 seals them as application data, 2
// seals a record of any inner type (the first byte) and content (alerts, KeyUpdate,
// tickets, junk), 3 flips one bit of the stream so far. The sender moves to a new
// key every two records. The stream is then opened by the receiver in chunks of
// sizes the input also decides, as TlsSocket reads it, into a read span of the
// usual size or a smaller one. Nothing may crash or read
// out of bounds, and while the script only sealed application data, what opens is
// exactly what was sealed, and all of it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "transport/tls_records.hpp"

namespace {

using datafold::net::detail::SealedBytes;
using datafold::net::detail::kTlsMaxPlaintext;
using datafold::net::detail::TlsRecordLayer;
using datafold::net::detail::TrafficSecrets;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::uint16_t kSuites[] = {0x1301, 0x1302, 0x1303};

struct Script {
  std::span<const std::uint8_t> input;
  std::size_t at = 0;
  bool done() const { return at >= input.size(); }
  std::uint8_t byte() { return done() ? 0 : input[at++]; }
  std::span<const std::uint8_t> bytes(std::size_t n) {
    n = std::min(n, input.size() - at);
    auto out = input.subspan(at, n);
    at += n;
    return out;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Script script{{data, size}};
  const std::uint16_t suite = kSuites[script.byte() % 3];
  const std::size_t secret_bytes = suite == 0x1302 ? 48 : 32;
  TrafficSecrets secrets;
  std::vector<std::uint8_t> secret(secret_bytes, 0x11);
  check(secrets.client.assign(secret));
  secret.assign(secret_bytes, 0x22);
  check(secrets.server.assign(secret));
  std::string why;
  auto sender = TlsRecordLayer::create(suite, secrets, /*server=*/false, why, /*records_per_key=*/2);
  auto receiver = TlsRecordLayer::create(suite, secrets, /*server=*/true, why);
  check(sender && receiver);

  SealedBytes stream;  // sealed to, and garbage appended to
  std::vector<std::uint8_t> sealed_data;
  bool clean = true;  // only application data sealed so far
  std::error_code error;
  while (!script.done()) {
    const std::uint8_t op = script.byte() % 5;
    if (op == 4) break;  // the rest decides the read sizes
    const auto bytes = script.bytes(script.byte());
    switch (op) {
      case 0:
        stream.insert(stream.end(), bytes.begin(), bytes.end());
        clean = false;
        break;
      case 1:
        check(sender->seal(bytes, stream, error));
        sealed_data.insert(sealed_data.end(), bytes.begin(), bytes.end());
        break;
      case 2:
        if (!bytes.empty()) check(sender->seal_record(bytes[0], bytes.subspan(1), stream, error));
        clean = false;
        break;
      case 3:
        if (!stream.empty() && !bytes.empty()) {
          const std::size_t bit = (std::size_t{bytes[0]} << 8 | (bytes.size() > 1 ? bytes[1] : 0)) % (stream.size() * 8);
          stream[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        }
        clean = false;
        break;
    }
  }

  // Read as TlsSocket does: what was kept, then the next chunk, opened into a
  // read span of the usual size, or now and then (an odd first read byte) a smaller
  // one that whole records may not fit, whose data must then wait, not be lost.
  const std::uint8_t size_choice = script.byte();
  std::vector<std::uint8_t> out(size_choice % 2 == 0 ? kTlsMaxPlaintext : 1 + size_choice * std::size_t{37});
  std::vector<std::uint8_t> opened_data;
  std::vector<std::uint8_t> kept;
  std::size_t fed = 0;
  bool ended = false;
  while (!ended) {
    const std::size_t chunk = 1 + (std::size_t{script.byte()} << 4 | script.byte() >> 4);
    const std::size_t n = std::min(chunk, stream.size() - fed);
    kept.insert(kept.end(), stream.begin() + static_cast<std::ptrdiff_t>(fed),
                stream.begin() + static_cast<std::ptrdiff_t>(fed + n));
    fed += n;
    // Open until nothing more opens from what is here.
    for (;;) {
      const auto opened = receiver->open(kept, out);
      check(opened.consumed <= kept.size() && opened.produced <= out.size());
      opened_data.insert(opened_data.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(opened.produced));
      kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(opened.consumed));
      if (opened.status != TlsRecordLayer::Status::Open) {
        check(!clean);  // sealed data alone never fails or closes
        ended = true;
        break;
      }
      if (opened.consumed == 0) break;
    }
    if (fed == stream.size()) break;
  }
  // A small span leaves whole records waiting: a span of the usual size takes them.
  if (!ended && out.size() < kTlsMaxPlaintext) {
    out.resize(kTlsMaxPlaintext);
    for (;;) {
      const auto opened = receiver->open(kept, out);
      opened_data.insert(opened_data.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(opened.produced));
      kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(opened.consumed));
      if (opened.status != TlsRecordLayer::Status::Open || opened.consumed == 0) break;
    }
  }
  if (clean) {
    check(kept.empty());
    check(opened_data == sealed_data);
  }
  return 0;
}
