// libFuzzer target for the circuit join preamble (PROTOCOL.md section 14.3), the
// first bytes a relay's listener reads from a connection that does not start TLS.
//
// The input is what such a connection sends. It is read two ways:
// - whole, by decode_circuit_join, which must agree with the spec written out
//   independently here: exactly 37 bytes, "DFRC", version 1, a token that is not
//   all zero; what decodes is the input's own token and re-encodes to the input;
// - as the relay reads it: the first byte must say "join" (else it is TLS and the
//   join code never sees it), then 37-byte preambles one after another, each
//   presented to a RelayBook that has opened one circuit. Only that circuit's
//   token may join, at most twice (First, then Second); every other preamble is
//   refused, and the book's counters say so.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "relay/circuit_join.hpp"
#include "relay/relay_book.hpp"

namespace {

using namespace datafold::net;
using namespace datafold::net::detail;

void check(bool ok) {
  if (!ok) std::abort();
}

// The spec, apart from the code under test.
bool is_join(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != 37) return false;
  if (bytes[0] != 'D' || bytes[1] != 'F' || bytes[2] != 'R' || bytes[3] != 'C' || bytes[4] != 1) return false;
  return std::any_of(bytes.begin() + 5, bytes.end(), [](std::uint8_t b) { return b != 0; });
}

NodeId node(std::uint8_t n) {
  std::array<std::uint8_t, NodeId::kSize> bytes{};
  bytes.fill(n);
  return NodeId{bytes};
}

// The circuit the book knows: the token of the PROTOCOL.md 14.4 vectors, a0 … bf.
RelayToken open_token() {
  RelayToken token;
  for (std::size_t i = 0; i < token.size(); ++i) token[i] = static_cast<std::uint8_t>(0xa0 + i);
  return token;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);

  // Whole.
  const auto token = decode_circuit_join(input);
  check(token.has_value() == is_join(input));
  if (token) {
    check(std::equal(token->begin(), token->end(), input.begin() + 5));
    const auto again = encode_circuit_join(*token);
    check(std::equal(again.begin(), again.end(), input.begin(), input.end()));
    check(starts_circuit_join(input[0]));
  }

  // As the relay's listener reads it.
  if (size == 0 || !starts_circuit_join(input[0])) return 0;
  RelayLimits limits;
  limits.join_timeout = std::chrono::seconds(10);
  RelayBook book(limits);
  const auto t0 = RelayBook::Clock::time_point{} + std::chrono::hours(1);
  check(book.reserve(node(2), "198.51.100.2", 2).ok);
  check(book.open_circuit(node(1), node(2), open_token(), t0).status == RelayResponseMessage::Status::Ok);

  std::uint64_t refused = 0;
  int joined = 0;
  for (std::size_t offset = 0; offset + kCircuitJoinBytes <= size; offset += kCircuitJoinBytes) {
    const auto preamble = input.subspan(offset, kCircuitJoinBytes);
    const auto decoded = decode_circuit_join(preamble);
    check(decoded.has_value() == is_join(preamble));
    const auto join = decoded ? book.join(*decoded) : RelayBook::Join::Unknown;
    if (!decoded) {
      ++refused;  // closed before it reaches the book
      continue;
    }
    if (*decoded != open_token() || joined >= 2) {
      check(join == RelayBook::Join::Unknown);
      continue;
    }
    ++joined;
    check(join == (joined == 1 ? RelayBook::Join::First : RelayBook::Join::Second));
  }
  const auto& counters = book.counters();
  check(counters.circuits_opened == (joined == 2 ? 1u : 0u));
  check(book.circuits_running() == (joined == 2 ? 1u : 0u));
  check(book.circuits() == 1);
  check(counters.joins_refused + refused + static_cast<std::uint64_t>(joined) == size / kCircuitJoinBytes);
  // Whatever joined, an unjoined circuit still expires on time and a running one does not.
  const auto expired = book.expire(t0 + limits.join_timeout);
  check(expired.size() == (joined == 2 ? 0u : 1u));
  return 0;
}
