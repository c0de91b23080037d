// TlsRecordLayer against OpenSSL itself: real TLS 1.3 handshakes over memory BIOs,
// after which one side frees its SSL and speaks through a TlsRecordLayer while the
// other stays OpenSSL. The records must be the ones OpenSSL would have made: every
// suite, both roles, both directions.
#include "transport/tls_records.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "datafold/net/identity.hpp"
#include "transport/tls_context.hpp"

namespace datafold::net::detail {
namespace {

using Bytes = std::vector<std::uint8_t>;
using RecordStatus = TlsRecordLayer::Status;

struct SslFree {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

struct SuiteCase {
  TlsSuite suite;
  const char* openssl_name;  // what SSL_set_ciphersuites takes
  std::size_t secret_bytes;  // the suite's hash length
  const char* label;
};
constexpr std::array<SuiteCase, 3> kSuiteCases{{
    {TlsSuite::Aes128GcmSha256, "TLS_AES_128_GCM_SHA256", 32, "Aes128Gcm"},
    {TlsSuite::Aes256GcmSha384, "TLS_AES_256_GCM_SHA384", 48, "Aes256Gcm"},
    {TlsSuite::Chacha20Poly1305Sha256, "TLS_CHACHA20_POLY1305_SHA256", 32, "Chacha20Poly1305"},
}};

// Around every edge: empty, tiny, one full record, one byte over, many records.
constexpr std::array<std::size_t, 8> kMessageSizes{0, 1, 2, 3, 1000, kTlsMaxPlaintext, kTlsMaxPlaintext + 1, 100000};
// A protected record's body at most: the content, its type byte and a 16-byte tag.
constexpr std::size_t kMaxSealedBody = kTlsMaxPlaintext + 1 + 16;

Bytes random_bytes(std::size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(byte(rng));
  return b;
}

Bytes text_bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string openssl_errors() {
  std::string all;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    std::array<char, 256> line{};
    ERR_error_string_n(e, line.data(), line.size());
    all += std::string(line.data()) + "\n";
  }
  return all;
}

// The records on the wire, from their headers (read here rather than with
// record_size(), which is under test too).
struct WireRecord {
  std::uint8_t type;
  unsigned version;
  std::size_t length;
};
std::vector<WireRecord> records_in(std::span<const std::uint8_t> wire) {
  std::vector<WireRecord> records;
  std::size_t at = 0;
  while (at + kTlsRecordHeaderBytes <= wire.size()) {
    const std::size_t length = std::size_t{wire[at + 3]} << 8 | wire[at + 4];
    records.push_back({wire[at], unsigned{wire[at + 1]} << 8 | wire[at + 2], length});
    at += kTlsRecordHeaderBytes + length;
  }
  EXPECT_EQ(at, wire.size()) << "the bytes do not end on a record boundary";
  return records;
}

Bytes drain(BIO* bio) {
  Bytes out(BIO_ctrl_pending(bio));
  if (!out.empty()) {
    EXPECT_EQ(BIO_read(bio, out.data(), static_cast<int>(out.size())), static_cast<int>(out.size()));
  }
  return out;
}

void fill(BIO* bio, std::span<const std::uint8_t> bytes) {
  if (!bytes.empty()) {
    EXPECT_EQ(BIO_write(bio, bytes.data(), static_cast<int>(bytes.size())), static_cast<int>(bytes.size()));
  }
}

Bytes seal_all(TlsRecordLayer& layer, std::span<const std::uint8_t> plaintext) {
  SealedBytes wire;
  std::error_code error;
  EXPECT_TRUE(layer.seal(plaintext, wire, error)) << error.message();
  return Bytes(wire.begin(), wire.end());
}

// A client and a server SSL of two identities, each reading from one memory BIO and
// writing to another; handshake() carries the bytes across.
class TlsPair {
 public:
  explicit TlsPair(const SuiteCase& suite) : client_(make_ssl(suite)), server_(make_ssl(suite)) {
    if (!client_ || !server_) return;
    SSL_set_connect_state(client_.get());
    configure_client(client_.get());  // ALPN datafold/1, which the server requires
    SSL_set_accept_state(server_.get());
  }

  // Each side given a TrafficSecrets gets its secrets there. Both sides end with
  // nothing in flight: what follows are the connection's first records both ways.
  void handshake(TrafficSecrets* client_secrets, TrafficSecrets* server_secrets) {
    ASSERT_TRUE(client_ && server_);
    if (client_secrets != nullptr) capture_traffic_secrets(client_.get(), client_secrets);
    if (server_secrets != nullptr) capture_traffic_secrets(server_.get(), server_secrets);
    int c = 0;
    int s = 0;
    for (int round = 0; round < 16 && (c != 1 || s != 1); ++round) {
      if (c != 1) c = SSL_do_handshake(client_.get());
      if (s != 1) s = SSL_do_handshake(server_.get());
      fill(SSL_get_rbio(server_.get()), drain(SSL_get_wbio(client_.get())));
      fill(SSL_get_rbio(client_.get()), drain(SSL_get_wbio(server_.get())));
    }
    ASSERT_EQ(c, 1) << openssl_errors();
    ASSERT_EQ(s, 1) << openssl_errors();
    for (SSL* ssl : {client_.get(), server_.get()}) {
      ASSERT_EQ(BIO_ctrl_pending(SSL_get_rbio(ssl)), 0u);
      ASSERT_EQ(BIO_ctrl_pending(SSL_get_wbio(ssl)), 0u);
    }
  }

  SSL* ssl(bool server) const { return server ? server_.get() : client_.get(); }
  // That side's SSL goes, and with it what the handshake kept: from here on its
  // bytes are a TlsRecordLayer's.
  void drop(bool server) { (server ? server_ : client_).reset(); }

 private:
  static SslPtr make_ssl(const SuiteCase& suite) {
    auto identity = Identity::generate();
    EXPECT_TRUE(identity.ok());
    if (!identity.ok()) return nullptr;
    auto ctx = make_tls_context(identity.value());
    EXPECT_TRUE(ctx.ok()) << ctx.error().to_string();
    if (!ctx.ok()) return nullptr;
    offer_traffic_secrets(ctx.value()->native_handle());  // make_tls_context may have too: harmless
    SslPtr ssl(SSL_new(ctx.value()->native_handle()));    // holds its own reference to the context
    EXPECT_NE(ssl, nullptr);
    if (!ssl) return nullptr;
    EXPECT_EQ(SSL_set_ciphersuites(ssl.get(), suite.openssl_name), 1);  // both ends: that suite or none
    SSL_set_bio(ssl.get(), BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    return ssl;
  }

  SslPtr client_;
  SslPtr server_;
};

// Reads as a connection would: bytes come in pieces of any size, whole records are
// opened as they complete into an `out` of one record's worth, a partial one waits.
class RecordReader {
 public:
  explicit RecordReader(TlsRecordLayer& layer) : layer_(layer) {}

  TlsRecordLayer::Opened feed(std::span<const std::uint8_t> bytes) {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    while (last_.status == RecordStatus::Open && !pending_.empty()) {
      last_ = layer_.open(pending_, out_);
      EXPECT_LE(last_.consumed, pending_.size());
      EXPECT_LE(last_.produced, out_.size());
      const auto produced = static_cast<std::ptrdiff_t>(std::min(last_.produced, out_.size()));
      data_.insert(data_.end(), out_.begin(), out_.begin() + produced);
      pending_.erase(pending_.begin(),
                     pending_.begin() + static_cast<std::ptrdiff_t>(std::min(last_.consumed, pending_.size())));
      if (last_.consumed == 0) break;
    }
    // Nothing whole may be left unopened: what waits is a record still arriving.
    const std::size_t next = TlsRecordLayer::record_size(pending_);
    if (last_.status == RecordStatus::Open) {
      EXPECT_TRUE(next == 0 || next > pending_.size()) << next;
    }
    return last_;
  }

  TlsRecordLayer::Opened feed_in_pieces(std::span<const std::uint8_t> bytes, std::mt19937& rng) {
    std::uniform_int_distribution<std::size_t> piece(1, 3000);
    for (std::size_t at = 0; at < bytes.size();) {
      const std::size_t n = std::min(piece(rng), bytes.size() - at);
      feed(bytes.subspan(at, n));
      at += n;
    }
    return last_;
  }

  Bytes take() { return std::exchange(data_, {}); }

 private:
  TlsRecordLayer& layer_;
  Bytes pending_;
  Bytes out_ = Bytes(kTlsMaxPlaintext);
  Bytes data_;
  TlsRecordLayer::Opened last_;
};

// Parameters: the suite, and whether the server (else the client) switches to a
// TlsRecordLayer; the other side stays OpenSSL (the peer).
class TlsRecordsInterop : public ::testing::TestWithParam<std::tuple<int, bool>> {
 protected:
  const SuiteCase& suite() const { return kSuiteCases[static_cast<std::size_t>(std::get<0>(GetParam()))]; }
  bool server_switches() const { return std::get<1>(GetParam()); }

  // A fresh connection: handshake, then the switching side's SSL traded for a layer.
  void start(std::uint64_t records_per_key = kTlsRecordsPerKey) {
    reader_.reset();
    layer_.reset();
    pair_.reset();
    secrets_ = std::make_unique<TrafficSecrets>();
    pair_.emplace(suite());
    const bool server = server_switches();
    ASSERT_NO_FATAL_FAILURE(pair_->handshake(server ? nullptr : secrets_.get(), server ? secrets_.get() : nullptr));
    const std::uint16_t id = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(pair_->ssl(server)));
    ASSERT_EQ(id, static_cast<std::uint16_t>(suite().suite));
    EXPECT_EQ(secrets_->client.bytes().size(), suite().secret_bytes);
    EXPECT_EQ(secrets_->server.bytes().size(), suite().secret_bytes);
    std::string why;
    layer_ = TlsRecordLayer::create(id, *secrets_, server, why, records_per_key);
    ASSERT_NE(layer_, nullptr) << why;
    pair_->drop(server);
    peer_ = pair_->ssl(!server);
    reader_.emplace(*layer_);
  }

  void peer_write(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return;  // no record for nothing (and SSL_write may refuse it)
    std::size_t written = 0;
    ASSERT_EQ(SSL_write_ex(peer_, bytes.data(), bytes.size(), &written), 1) << openssl_errors();
    ASSERT_EQ(written, bytes.size());
  }
  Bytes from_peer() { return drain(SSL_get_wbio(peer_)); }
  void to_peer(std::span<const std::uint8_t> bytes) { fill(SSL_get_rbio(peer_), bytes); }
  // All the peer can read now; it must then be waiting for more, not failed.
  Bytes peer_read() {
    Bytes data;
    std::array<std::uint8_t, 4096> buffer{};
    std::size_t n = 0;
    while (SSL_read_ex(peer_, buffer.data(), buffer.size(), &n) == 1)
      data.insert(data.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(SSL_get_error(peer_, 0), SSL_ERROR_WANT_READ) << openssl_errors();
    return data;
  }
  Bytes seal(std::span<const std::uint8_t> plaintext) { return seal_all(*layer_, plaintext); }

  std::unique_ptr<TrafficSecrets> secrets_;
  std::optional<TlsPair> pair_;
  std::unique_ptr<TlsRecordLayer> layer_;
  std::optional<RecordReader> reader_;
  SSL* peer_ = nullptr;
};

TEST_P(TlsRecordsInterop, OpensWhatOpenSslWrites) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::mt19937 rng(1);
  std::size_t records = 0;
  for (const std::size_t size : kMessageSizes) {
    SCOPED_TRACE(size);
    const Bytes message = random_bytes(size, rng);
    ASSERT_NO_FATAL_FAILURE(peer_write(message));
    const Bytes wire = from_peer();
    records += records_in(wire).size();
    EXPECT_EQ(reader_->feed_in_pieces(wire, rng).status, RecordStatus::Open);
    EXPECT_EQ(reader_->take(), message);
  }
  EXPECT_EQ(layer_->records_opened(), records);
  EXPECT_EQ(layer_->key_updates_received(), 0u);
}

TEST_P(TlsRecordsInterop, OpenSslReadsWhatItSeals) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::mt19937 rng(2);
  std::size_t records = 0;
  for (const std::size_t size : kMessageSizes) {
    SCOPED_TRACE(size);
    const Bytes message = random_bytes(size, rng);
    const Bytes wire = seal(message);
    for (const WireRecord& record : records_in(wire)) {
      EXPECT_EQ(record.type, 23);  // application_data outside, whatever is inside
      EXPECT_EQ(record.version, 0x0303u);
      EXPECT_LE(record.length, kMaxSealedBody);
      ++records;
    }
    to_peer(wire);
    EXPECT_EQ(peer_read(), message);
  }
  EXPECT_EQ(layer_->records_sealed(), records);
  EXPECT_EQ(layer_->key_updates_sent(), 0u);
}

TEST_P(TlsRecordsInterop, BothWaysInterleaved) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::mt19937 rng(3);
  std::uniform_int_distribution<std::size_t> size(0, 20000);
  std::uniform_int_distribution<int> count(0, 2);
  for (int round = 0; round < 200 && !HasFailure(); ++round) {
    Bytes to_layer;
    Bytes to_peer_plain;
    Bytes wire;
    for (int i = count(rng); i > 0; --i) {
      const Bytes m = random_bytes(size(rng), rng);
      ASSERT_NO_FATAL_FAILURE(peer_write(m));
      to_layer.insert(to_layer.end(), m.begin(), m.end());
    }
    for (int i = count(rng); i > 0; --i) {
      const Bytes m = random_bytes(size(rng), rng);
      const Bytes sealed = seal(m);
      wire.insert(wire.end(), sealed.begin(), sealed.end());
      to_peer_plain.insert(to_peer_plain.end(), m.begin(), m.end());
    }
    EXPECT_EQ(reader_->feed_in_pieces(from_peer(), rng).status, RecordStatus::Open) << "round " << round;
    EXPECT_EQ(reader_->take(), to_layer) << "round " << round;
    to_peer(wire);
    EXPECT_EQ(peer_read(), to_peer_plain) << "round " << round;
  }
}

TEST_P(TlsRecordsInterop, AnswersAKeyUpdateThatAsksForOne) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_EQ(SSL_key_update(peer_, SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_NO_FATAL_FAILURE(peer_write(text_bytes("under the new key")));  // the KeyUpdate goes first
  const Bytes wire = from_peer();
  EXPECT_EQ(records_in(wire).size(), 2u);
  EXPECT_EQ(reader_->feed(wire).status, RecordStatus::Open);
  EXPECT_EQ(reader_->take(), text_bytes("under the new key"));
  EXPECT_EQ(layer_->key_updates_received(), 1u);
  EXPECT_EQ(layer_->key_updates_sent(), 0u);  // owed, sent with the next seal

  const Bytes reply = seal(text_bytes("reply"));
  EXPECT_EQ(layer_->key_updates_sent(), 1u);
  EXPECT_EQ(records_in(reply).size(), 2u);  // our KeyUpdate, then the data under our new key
  to_peer(reply);
  EXPECT_EQ(peer_read(), text_bytes("reply"));

  // Ours did not ask back (else OpenSSL's next write would carry a KeyUpdate).
  ASSERT_NO_FATAL_FAILURE(peer_write(text_bytes("still readable")));
  const Bytes more = from_peer();
  EXPECT_EQ(records_in(more).size(), 1u);
  EXPECT_EQ(reader_->feed(more).status, RecordStatus::Open);
  EXPECT_EQ(reader_->take(), text_bytes("still readable"));
  EXPECT_EQ(layer_->key_updates_received(), 1u);
  to_peer(seal(text_bytes("and again")));
  EXPECT_EQ(peer_read(), text_bytes("and again"));
  EXPECT_EQ(layer_->key_updates_sent(), 1u);
}

TEST_P(TlsRecordsInterop, FollowsAKeyUpdateThatAsksForNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_EQ(SSL_key_update(peer_, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  ASSERT_NO_FATAL_FAILURE(peer_write(text_bytes("new key")));
  EXPECT_EQ(reader_->feed(from_peer()).status, RecordStatus::Open);
  EXPECT_EQ(reader_->take(), text_bytes("new key"));
  EXPECT_EQ(layer_->key_updates_received(), 1u);
  const Bytes reply = seal(text_bytes("same old key"));
  EXPECT_EQ(records_in(reply).size(), 1u);
  EXPECT_EQ(layer_->key_updates_sent(), 0u);
  to_peer(reply);
  EXPECT_EQ(peer_read(), text_bytes("same old key"));
}

TEST_P(TlsRecordsInterop, UpdatesItsKeyEveryRecordsPerKey) {
  ASSERT_NO_FATAL_FAILURE(start(3));
  std::mt19937 rng(5);
  Bytes wire;
  Bytes sent;
  for (int i = 0; i < 10; ++i) {  // ten records, in ten seal() calls
    const Bytes m = random_bytes(1000, rng);
    const Bytes sealed = seal(m);
    wire.insert(wire.end(), sealed.begin(), sealed.end());
    sent.insert(sent.end(), m.begin(), m.end());
  }
  EXPECT_GE(layer_->key_updates_sent(), 3u);
  EXPECT_EQ(layer_->records_sealed(), records_in(wire).size());
  to_peer(wire);
  EXPECT_EQ(peer_read(), sent);

  // And inside one seal(): ten records' worth at once.
  const std::uint64_t before = layer_->key_updates_sent();
  const Bytes big = random_bytes(10 * kTlsMaxPlaintext, rng);
  to_peer(seal(big));
  EXPECT_EQ(peer_read(), big);
  EXPECT_GE(layer_->key_updates_sent() - before, 3u);

  // None of ours asked for OpenSSL's, and our read key is untouched.
  ASSERT_NO_FATAL_FAILURE(peer_write(text_bytes("the other way")));
  EXPECT_EQ(reader_->feed(from_peer()).status, RecordStatus::Open);
  EXPECT_EQ(reader_->take(), text_bytes("the other way"));
  EXPECT_EQ(layer_->key_updates_received(), 0u);
}

TEST_P(TlsRecordsInterop, CloseNotifyCloses) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_EQ(SSL_shutdown(peer_), 0);  // close_notify sent, none received yet
  const auto opened = reader_->feed(from_peer());
  EXPECT_EQ(opened.status, RecordStatus::Closed);
  EXPECT_FALSE(opened.error);
}

// Data and the close_notify after it, read at once: the data is handed over, and the
// close is said by that open() or by one on what it left unconsumed. Said by neither,
// a reader with nothing left would go back to its socket for bytes that never come.
TEST_P(TlsRecordsInterop, DataThenCloseNotifyInOneRead) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(peer_write(text_bytes("last words")));
  ASSERT_EQ(SSL_shutdown(peer_), 0);
  const Bytes wire = from_peer();
  ASSERT_EQ(records_in(wire).size(), 2u);
  EXPECT_EQ(reader_->feed(wire).status, RecordStatus::Closed);
  EXPECT_EQ(reader_->take(), text_bytes("last words"));
}

TEST_P(TlsRecordsInterop, FatalAlertFromThePeerFails) {
  ASSERT_NO_FATAL_FAILURE(start());
  // OpenSSL sends a fatal alert (bad_record_mac) when given a record that does not
  // authenticate: the one alert other than close_notify it can be made to send.
  Bytes forged = seal(text_bytes("x"));
  forged.back() ^= 0x01;
  to_peer(forged);
  std::array<std::uint8_t, 16> buffer{};
  std::size_t n = 0;
  EXPECT_EQ(SSL_read_ex(peer_, buffer.data(), buffer.size(), &n), 0);
  EXPECT_EQ(SSL_get_error(peer_, 0), SSL_ERROR_SSL);
  ERR_clear_error();
  const Bytes alert = from_peer();
  ASSERT_EQ(records_in(alert).size(), 1u);
  const auto opened = reader_->feed(alert);
  EXPECT_EQ(opened.status, RecordStatus::Failed);
  EXPECT_EQ(opened.error, TlsRecordError::PeerAlert);
  EXPECT_EQ(opened.produced, 0u);
}

TEST_P(TlsRecordsInterop, StopsWhereOutIsFull) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::mt19937 rng(7);
  const Bytes a = random_bytes(1000, rng);
  const Bytes b = random_bytes(1000, rng);
  ASSERT_NO_FATAL_FAILURE(peer_write(a));
  ASSERT_NO_FATAL_FAILURE(peer_write(b));
  Bytes wire = from_peer();
  ASSERT_EQ(records_in(wire).size(), 2u);
  std::array<std::uint8_t, 100> small{};
  const auto none = layer_->open(wire, small);  // 1000 bytes cannot fit in 100: nothing taken
  EXPECT_EQ(none.status, RecordStatus::Open);
  EXPECT_EQ(none.consumed, 0u);
  EXPECT_EQ(none.produced, 0u);
  Bytes out(kTlsMaxPlaintext);
  const auto both = layer_->open(wire, out);  // room for both
  EXPECT_EQ(both.status, RecordStatus::Open);
  EXPECT_EQ(both.consumed, wire.size());
  ASSERT_EQ(both.produced, 2000u);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), out.begin()));
  EXPECT_TRUE(std::equal(b.begin(), b.end(), out.begin() + 1000));
}

TEST_P(TlsRecordsInterop, DamagedRecordsFail) {
  // Each case on a connection of its own: a failure ends a layer.
  const auto open_damaged = [&](auto damage) {
    start();
    if (HasFatalFailure()) return TlsRecordLayer::Opened{};
    peer_write(text_bytes("a record to damage"));
    Bytes wire = from_peer();
    damage(wire);
    return reader_->feed(wire);
  };
  const auto expect_failure = [](const TlsRecordLayer::Opened& opened, TlsRecordError error) {
    EXPECT_EQ(opened.status, RecordStatus::Failed);
    EXPECT_EQ(opened.error, error) << opened.error.message();
    EXPECT_EQ(opened.error.category(), tls_record_category());
    EXPECT_EQ(opened.produced, 0u);
  };
  expect_failure(open_damaged([](Bytes& w) { w[kTlsRecordHeaderBytes + 3] ^= 0x10; }), TlsRecordError::BadRecordMac);
  expect_failure(open_damaged([](Bytes& w) { w.back() ^= 0x80; }), TlsRecordError::BadRecordMac);
  // One byte shorter in the header (which the tag covers), the record ending early.
  expect_failure(open_damaged([](Bytes& w) {
                   --w[4];
                   w.pop_back();
                 }),
                 TlsRecordError::BadRecordMac);
  // A protected record is application_data outside, always.
  expect_failure(open_damaged([](Bytes& w) { w[0] = 22; }), TlsRecordError::UnexpectedMessage);
  // A body with room for 2^14 bytes of content, its type byte and the tag: it must
  // authenticate. Longer: too long, whether the record layer's outer limit
  // (2^14 + 256) allows it (RFC 8446 5.4 caps what is inside at 2^14 + 1) or not.
  constexpr std::size_t kLongestInner = kTlsMaxPlaintext + 1 + 16;
  for (const std::size_t length : {kLongestInner, kLongestInner + 1, kTlsMaxCiphertext, kTlsMaxCiphertext + 1}) {
    expect_failure(open_damaged([length](Bytes& w) {
                     w.assign(kTlsRecordHeaderBytes + length, 0x5a);
                     w[0] = 23;
                     w[1] = w[2] = 3;
                     w[3] = static_cast<std::uint8_t>(length >> 8);
                     w[4] = static_cast<std::uint8_t>(length);
                   }),
                   length > kLongestInner ? TlsRecordError::RecordOverflow : TlsRecordError::BadRecordMac);
  }
}

TEST_P(TlsRecordsInterop, ReplayedOrReorderedRecordsFail) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(peer_write(text_bytes("first")));
  const Bytes first = from_peer();
  EXPECT_EQ(reader_->feed(first).status, RecordStatus::Open);
  EXPECT_EQ(reader_->take(), text_bytes("first"));
  const auto replayed = reader_->feed(first);  // its sequence number is spent
  EXPECT_EQ(replayed.status, RecordStatus::Failed);
  EXPECT_EQ(replayed.error, TlsRecordError::BadRecordMac);

  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(peer_write(text_bytes("one")));
  ASSERT_NO_FATAL_FAILURE(peer_write(text_bytes("two")));
  const Bytes both = from_peer();
  const std::size_t first_size = kTlsRecordHeaderBytes + records_in(both).at(0).length;
  const auto reordered = reader_->feed(std::span(both).subspan(first_size));
  EXPECT_EQ(reordered.status, RecordStatus::Failed);
  EXPECT_EQ(reordered.error, TlsRecordError::BadRecordMac);
  EXPECT_TRUE(reader_->take().empty());
}

// Only a server sends NewSessionTicket: run with the client switching.
class TlsRecordsFromOpenSslServer : public TlsRecordsInterop {};

TEST_P(TlsRecordsFromOpenSslServer, IgnoresNewSessionTicket) {
  ASSERT_NO_FATAL_FAILURE(start());
  // Our contexts send no tickets; this server is made to send one all the same.
  SSL_clear_options(peer_, SSL_OP_NO_TICKET);
  ASSERT_EQ(SSL_new_session_ticket(peer_), 1);
  ASSERT_NO_FATAL_FAILURE(peer_write(text_bytes("after the ticket")));
  const Bytes wire = from_peer();
  ASSERT_EQ(records_in(wire).size(), 2u);
  std::mt19937 rng(8);
  EXPECT_EQ(reader_->feed_in_pieces(wire, rng).status, RecordStatus::Open);
  EXPECT_EQ(reader_->take(), text_bytes("after the ticket"));
  EXPECT_EQ(layer_->records_opened(), 2u);
  EXPECT_EQ(layer_->key_updates_received(), 0u);
  const Bytes reply = seal(text_bytes("no KeyUpdate owed"));
  EXPECT_EQ(records_in(reply).size(), 1u);
  to_peer(reply);
  EXPECT_EQ(peer_read(), text_bytes("no KeyUpdate owed"));
}

std::string interop_name(const ::testing::TestParamInfo<std::tuple<int, bool>>& info) {
  return std::string(kSuiteCases[static_cast<std::size_t>(std::get<0>(info.param))].label) +
         (std::get<1>(info.param) ? "_ServerSwitches" : "_ClientSwitches");
}
INSTANTIATE_TEST_SUITE_P(SuitesAndRoles, TlsRecordsInterop,
                         ::testing::Combine(::testing::Range(0, 3), ::testing::Bool()), interop_name);
INSTANTIATE_TEST_SUITE_P(Suites, TlsRecordsFromOpenSslServer,
                         ::testing::Combine(::testing::Range(0, 3), ::testing::Values(false)), interop_name);

TEST(TlsRecords, BetweenTwoLayers) {
  for (const SuiteCase& suite : kSuiteCases) {
    SCOPED_TRACE(suite.label);
    TlsPair pair(suite);
    TrafficSecrets at_client;
    TrafficSecrets at_server;
    ASSERT_NO_FATAL_FAILURE(pair.handshake(&at_client, &at_server));
    // Both ends captured the same two secrets, one per direction.
    EXPECT_EQ(at_client.client.bytes().size(), suite.secret_bytes);
    EXPECT_TRUE(std::ranges::equal(at_client.client.bytes(), at_server.client.bytes()));
    EXPECT_TRUE(std::ranges::equal(at_client.server.bytes(), at_server.server.bytes()));
    EXPECT_FALSE(std::ranges::equal(at_client.client.bytes(), at_client.server.bytes()));
    const std::uint16_t id = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(pair.ssl(false)));
    std::string why;
    // Small key lifetimes, so that KeyUpdates go both ways between the two.
    const auto client = TlsRecordLayer::create(id, at_client, false, why, 4);
    ASSERT_NE(client, nullptr) << why;
    const auto server = TlsRecordLayer::create(id, at_server, true, why, 5);
    ASSERT_NE(server, nullptr) << why;
    pair.drop(false);
    pair.drop(true);
    RecordReader at_client_side(*client);
    RecordReader at_server_side(*server);
    std::mt19937 rng(10);
    std::uniform_int_distribution<std::size_t> size(0, 40000);
    for (int round = 0; round < 50 && !HasFailure(); ++round) {
      const Bytes up = random_bytes(size(rng), rng);
      EXPECT_EQ(at_server_side.feed_in_pieces(seal_all(*client, up), rng).status, RecordStatus::Open);
      EXPECT_EQ(at_server_side.take(), up) << "round " << round;
      const Bytes down = random_bytes(size(rng), rng);
      EXPECT_EQ(at_client_side.feed_in_pieces(seal_all(*server, down), rng).status, RecordStatus::Open);
      EXPECT_EQ(at_client_side.take(), down) << "round " << round;
    }
    EXPECT_GT(client->key_updates_sent(), 0u);
    EXPECT_GT(server->key_updates_sent(), 0u);
    EXPECT_EQ(client->key_updates_sent(), server->key_updates_received());
    EXPECT_EQ(server->key_updates_sent(), client->key_updates_received());
    EXPECT_EQ(client->records_sealed(), server->records_opened());
    EXPECT_EQ(server->records_sealed(), client->records_opened());
  }
}

// A pair of layers under fixed secrets: what one seals as it is (seal_record), the
// other opens, for records no TLS stack would send.
struct LayerPair {
  std::unique_ptr<TlsRecordLayer> client;
  std::unique_ptr<TlsRecordLayer> server;
  LayerPair() {
    TrafficSecrets secrets;
    EXPECT_TRUE(secrets.client.assign(Bytes(32, 0x11)));
    EXPECT_TRUE(secrets.server.assign(Bytes(32, 0x22)));
    std::string why;
    client = TlsRecordLayer::create(0x1301, secrets, false, why);
    server = TlsRecordLayer::create(0x1301, secrets, true, why);
  }
  // What the server makes of one record of `inner_type` and `content` from the
  // client (or, `down`, the client of one from the server).
  TlsRecordLayer::Opened send(std::uint8_t inner_type, const Bytes& content, Bytes* data = nullptr,
                              bool down = false) {
    SealedBytes wire;
    std::error_code error;
    EXPECT_TRUE((down ? server : client)->seal_record(inner_type, content, wire, error)) << error.message();
    Bytes out(kTlsMaxPlaintext);
    const auto opened = (down ? client : server)->open(wire, out);
    if (data != nullptr) data->assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(opened.produced));
    return opened;
  }
};

TEST(TlsRecords, ControlRecordsOfEveryShapeAreActedOnOrRefused) {
  constexpr std::uint8_t kAlert = 21;
  constexpr std::uint8_t kHandshake = 22;
  constexpr std::uint8_t kData = 23;
  struct Case {
    const char* name;
    std::uint8_t type;
    Bytes content;
    std::error_code expected;
  };
  const std::vector<Case> cases = {
      {"all padding, no type", 0, {}, TlsRecordError::UnexpectedMessage},
      {"change_cipher_spec inside", 20, {1}, TlsRecordError::UnexpectedMessage},
      {"an alert of three bytes", kAlert, {2, 40, 0}, TlsRecordError::DecodeError},
      {"a fatal alert", kAlert, {2, 40}, TlsRecordError::PeerAlert},
      {"an empty handshake record", kHandshake, {}, TlsRecordError::UnexpectedMessage},
      {"a handshake message cut short", kHandshake, {24, 0, 0, 10, 0}, TlsRecordError::UnexpectedMessage},
      {"a Finished after the handshake", kHandshake, {20, 0, 0, 1, 0}, TlsRecordError::UnexpectedMessage},
      {"KeyUpdate asking 2", kHandshake, {24, 0, 0, 1, 2}, TlsRecordError::IllegalParameter},
      {"a session ticket from a client", kHandshake, {4, 0, 0, 1, 0}, TlsRecordError::UnexpectedMessage},
      {"KeyUpdate two bytes long", kHandshake, {24, 0, 0, 2, 0, 0}, TlsRecordError::DecodeError},
      {"a message after KeyUpdate", kHandshake, {24, 0, 0, 1, 0, 4, 0, 0, 0}, TlsRecordError::UnexpectedMessage},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    LayerPair pair;
    const auto opened = pair.send(c.type, c.content);
    EXPECT_EQ(opened.status, RecordStatus::Failed);
    EXPECT_EQ(opened.error, c.expected);
    // Failed for good: a good record after it opens nothing.
    const auto after = pair.send(kData, text_bytes("late"));
    EXPECT_EQ(after.status, RecordStatus::Failed);
    EXPECT_EQ(after.produced, 0u);
  }

  LayerPair pair;
  Bytes data;
  // user_canceled is a warning: reading goes on.
  EXPECT_EQ(pair.send(kAlert, {1, 90}).status, RecordStatus::Open);
  // From the server, a ticket, then a KeyUpdate, in one record: the ticket is
  // dropped, the key moves.
  EXPECT_EQ(pair.send(kHandshake, {4, 0, 0, 2, 7, 7, 24, 0, 0, 1, 0}, nullptr, true).status, RecordStatus::Open);
  EXPECT_EQ(pair.client->key_updates_received(), 1u);
  // The server has not moved its key, so its next record no longer authenticates.
  const auto stale = pair.send(kData, text_bytes("old key"), nullptr, true);
  EXPECT_EQ(stale.status, RecordStatus::Failed);
  EXPECT_EQ(stale.error, TlsRecordError::BadRecordMac);

  // Records that carry nothing, one after another for ever: cut off after 32.
  LayerPair idle;
  for (int i = 0; i < 32; ++i) ASSERT_EQ(idle.send(kData, {}).status, RecordStatus::Open) << i;
  const auto wasted = idle.send(kAlert, {1, 90});
  EXPECT_EQ(wasted.status, RecordStatus::Failed);
  EXPECT_EQ(wasted.error, TlsRecordError::UnexpectedMessage);
  // A record with data between them starts the count again.
  LayerPair busy;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(busy.send(kData, {}).status, RecordStatus::Open) << i;
    if (i % 10 == 0) {
      ASSERT_EQ(busy.send(kData, text_bytes("x")).status, RecordStatus::Open) << i;
    }
  }

  LayerPair closing;
  EXPECT_EQ(closing.send(kData, text_bytes("before"), &data).status, RecordStatus::Open);
  EXPECT_EQ(data, text_bytes("before"));
  EXPECT_EQ(closing.send(kAlert, {1, 0}).status, RecordStatus::Closed);
  // Nothing after close_notify is read.
  EXPECT_EQ(closing.send(kData, text_bytes("after"), &data).status, RecordStatus::Closed);
  EXPECT_TRUE(data.empty());
}

TEST(TlsRecords, EachErrorTellsThePeerWithTheAlertTlsNamesForIt) {
  EXPECT_EQ(alert_for(TlsRecordError::BadRecordMac), 20);
  EXPECT_EQ(alert_for(TlsRecordError::RecordOverflow), 22);
  EXPECT_EQ(alert_for(TlsRecordError::UnexpectedMessage), 10);
  EXPECT_EQ(alert_for(TlsRecordError::DecodeError), 50);
  EXPECT_EQ(alert_for(TlsRecordError::IllegalParameter), 47);
  EXPECT_EQ(alert_for(TlsRecordError::Internal), 80);
  EXPECT_EQ(alert_for(TlsRecordError::PeerAlert), std::nullopt);  // the peer is gone already
  EXPECT_EQ(alert_for(std::make_error_code(std::errc::connection_reset)), std::nullopt);
}

TEST(TlsRecords, RecordSizeReadsTheHeader) {
  const std::array<std::uint8_t, 7> bytes{23, 3, 3, 0x01, 0x02, 0xaa, 0xbb};
  for (std::size_t n = 0; n < kTlsRecordHeaderBytes; ++n)
    EXPECT_EQ(TlsRecordLayer::record_size(std::span(bytes).first(n)), 0u) << n;
  EXPECT_EQ(TlsRecordLayer::record_size(std::span(bytes).first(5)), 5u + 0x0102);
  EXPECT_EQ(TlsRecordLayer::record_size(bytes), 5u + 0x0102);  // the first record's only
  const std::array<std::uint8_t, 5> empty{23, 3, 3, 0, 0};
  EXPECT_EQ(TlsRecordLayer::record_size(empty), 5u);
  const std::array<std::uint8_t, 5> largest{23, 3, 3, 0xff, 0xff};
  EXPECT_EQ(TlsRecordLayer::record_size(largest), 5u + 0xffff);
}

TEST(TlsRecords, CreateRefusesUnknownSuitesAndMissingSecrets) {
  const Bytes a(32, 0x11);
  const Bytes b(32, 0x22);
  TrafficSecrets both;
  ASSERT_TRUE(both.client.assign(a));
  ASSERT_TRUE(both.server.assign(b));
  std::string why;
  EXPECT_NE(TlsRecordLayer::create(0x1301, both, false, why), nullptr) << why;
  // CCM, CCM_8, no suite, TLS 1.2's ECDHE-ECDSA-AES128-GCM-SHA256, nonsense.
  for (const std::uint16_t id : {0x1304, 0x1305, 0x0000, 0xc02b, 0x9999}) {
    why.clear();
    EXPECT_EQ(TlsRecordLayer::create(id, both, true, why), nullptr) << std::hex << id;
    EXPECT_FALSE(why.empty()) << std::hex << id;
  }
  TrafficSecrets no_client;
  ASSERT_TRUE(no_client.server.assign(b));
  TrafficSecrets no_server;
  ASSERT_TRUE(no_server.client.assign(a));
  TrafficSecrets none;
  for (const TrafficSecrets* secrets : {&no_client, &no_server, &none}) {
    for (const bool server : {false, true}) {
      why.clear();
      EXPECT_EQ(TlsRecordLayer::create(0x1301, *secrets, server, why), nullptr);
      EXPECT_FALSE(why.empty());
    }
  }
}

TEST(TlsRecords, TrafficSecretHoldsAtMost64BytesAndWipes) {
  TrafficSecret secret;
  EXPECT_TRUE(secret.empty());
  Bytes longest(64);
  for (std::size_t i = 0; i < longest.size(); ++i) longest[i] = static_cast<std::uint8_t>(i + 1);
  ASSERT_TRUE(secret.assign(longest));
  EXPECT_FALSE(secret.empty());
  EXPECT_TRUE(std::ranges::equal(secret.bytes(), longest));
  EXPECT_FALSE(secret.assign(Bytes(65, 0x33)));  // longer than SHA-384, the longest hash
  secret.wipe();
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.bytes().size(), 0u);
  ASSERT_TRUE(secret.assign(std::span(longest).first(48)));
  EXPECT_TRUE(std::ranges::equal(secret.bytes(), std::span(longest).first(48)));
}

}  // namespace
}  // namespace datafold::net::detail
