// TLS 1.3 records after the handshake (RFC 8446 section 5): what OpenSSL's record
// layer would do once the handshake is over, done here so that a connection can free
// its SSL session (about 15 KiB per connection: the session, the peer's certificate,
// the handshake's keys and transcript) and keep only two AEAD contexts.
// OpenSSL still makes every handshake; the traffic secrets it derives are taken as
// it derives them and the records on the wire are the same. Socket-free: the
// caller moves bytes, this seals and opens them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <openssl/ssl.h>

namespace datafold::net::detail {

inline constexpr std::size_t kTlsRecordHeaderBytes = 5;
inline constexpr std::size_t kTlsMaxPlaintext = std::size_t{1} << 14;
// A protected record's body: the content, its type byte, padding and the tag.
inline constexpr std::size_t kTlsMaxCiphertext = kTlsMaxPlaintext + 256;
// AES-GCM's limit is about 2^24.5 records per key (RFC 8446 section 5.5); the
// sender moves to a new key (KeyUpdate) well before.
inline constexpr std::uint64_t kTlsRecordsPerKey = std::uint64_t{1} << 23;

// std::allocator, except that a byte added by resize() is left as it is: sealing
// resizes its output and then writes every byte of it, and zeroing first was a
// memset of the whole record on every write.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() noexcept = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// Where records are sealed to.
using SealedBytes = std::vector<std::uint8_t, UninitializedAllocator<std::uint8_t>>;

// The TLS 1.3 cipher suites, by their protocol ids.
enum class TlsSuite : std::uint16_t {
  Aes128GcmSha256 = 0x1301,
  Aes256GcmSha384 = 0x1302,
  Chacha20Poly1305Sha256 = 0x1303,
};

// A traffic secret (as long as the suite's hash), wiped when it goes.
class TrafficSecret {
 public:
  TrafficSecret() = default;
  TrafficSecret(const TrafficSecret&) = delete;
  TrafficSecret& operator=(const TrafficSecret&) = delete;
  ~TrafficSecret();
  // False when `bytes` is longer than any suite's hash.
  bool assign(std::span<const std::uint8_t> bytes);
  std::span<const std::uint8_t> bytes() const noexcept { return {bytes_.data(), size_}; }
  bool empty() const noexcept { return size_ == 0; }
  void wipe() noexcept;

 private:
  std::array<std::uint8_t, 64> bytes_{};
  std::size_t size_ = 0;
};

// A connection's two application traffic secrets, as its handshake derives them.
struct TrafficSecrets {
  TrafficSecret client;  // protects what the client sends
  TrafficSecret server;  // protects what the server sends
};

// Has every SSL made from `ctx` offer its application traffic secrets to the
// TrafficSecrets that capture_traffic_secrets() gave it (through OpenSSL's key-log
// callback: nothing is written anywhere). An SSL given none offers them to nobody.
void offer_traffic_secrets(SSL_CTX* ctx);
// Where `ssl`'s secrets go while it handshakes; `into` must outlive the handshake,
// or be withdrawn first with nullptr.
void capture_traffic_secrets(SSL* ssl, TrafficSecrets* into);

// Errors a record layer ends in (std::error_code in tls_record_category()).
enum class TlsRecordError {
  BadRecordMac = 1,      // a record did not authenticate: forged, damaged or out of order
  RecordOverflow,        // a record longer than TLS allows
  UnexpectedMessage,     // a record of a type, or a message, TLS 1.3 allows not here
  DecodeError,           // a malformed alert or handshake message
  PeerAlert,             // the peer sent an alert other than close_notify and user_canceled
  Internal,              // OpenSSL's AEAD failed
  IllegalParameter,      // a KeyUpdate asking neither yes nor no
};
const std::error_category& tls_record_category() noexcept;
std::error_code make_error_code(TlsRecordError e) noexcept;
// The fatal alert (RFC 8446 section 6) that tells the peer why, for an error of
// this layer's other than the peer's own alert.
std::optional<std::uint8_t> alert_for(const std::error_code& error) noexcept;

class RecordCipher;

// Both directions of one connection's records, from the moment its handshake ended.
class TlsRecordLayer {
 public:
  // Made from the handshake: `server` says which secret protects which direction.
  // Null, with `why` said, for a suite this does not know or a secret missing.
  static std::unique_ptr<TlsRecordLayer> create(std::uint16_t suite_id, const TrafficSecrets& secrets, bool server,
                                                std::string& why,
                                                std::uint64_t records_per_key = kTlsRecordsPerKey);
  ~TlsRecordLayer();
  TlsRecordLayer(const TlsRecordLayer&) = delete;
  TlsRecordLayer& operator=(const TlsRecordLayer&) = delete;

  // The size of the first record in `received` (header included), once its header
  // is there; 0 before.
  static std::size_t record_size(std::span<const std::uint8_t> received) noexcept;

  enum class Status {
    Open,    // nothing wrong; read on
    Closed,  // the peer sent close_notify: nothing follows (data before it is in `out`)
    Failed,  // see `error`
  };
  struct Opened {
    Status status = Status::Open;
    std::size_t consumed = 0;  // bytes of `received` taken (whole records only)
    std::size_t produced = 0;  // bytes of application data written to `out`
    std::error_code error;
  };
  // Opens whole records from the front of `received` (left as it is), decrypting
  // their application data straight into `out`, for as long as the next record's
  // content surely fits (`out` of kTlsMaxPlaintext or more always takes one); `out`
  // past what is produced may be written too. A header that is wrong (type,
  // length) fails as soon as it is here, before its body. Alerts, KeyUpdate and
  // NewSessionTicket are acted on here; a KeyUpdate asking for ours has seal()
  // send one first. Once Closed or Failed, always so.
  Opened open(std::span<const std::uint8_t> received, std::span<std::uint8_t> out);

  // Appends `plaintext` to `out` as records of at most kTlsMaxPlaintext, after a
  // KeyUpdate when one is owed or the write key has sealed records_per_key (the
  // KeyUpdate itself goes under the old key, so a key seals one record more).
  // Nothing at all for no plaintext: an owed KeyUpdate waits for data. False (with
  // the error) only if OpenSSL's AEAD failed.
  bool seal(std::span<const std::uint8_t> plaintext, SealedBytes& out, std::error_code& error);
  // Appends one record of any inner type as it is (an alert, a handshake message),
  // with no KeyUpdate before it: seal() is the way for application data.
  bool seal_record(std::uint8_t inner_type, std::span<const std::uint8_t> content, SealedBytes& out,
                   std::error_code& error);

  // Records sealed and opened since the handshake (KeyUpdates included), for tests.
  std::uint64_t records_sealed() const noexcept { return sealed_total_; }
  std::uint64_t records_opened() const noexcept { return opened_total_; }
  std::uint64_t key_updates_sent() const noexcept { return key_updates_sent_; }
  std::uint64_t key_updates_received() const noexcept { return key_updates_received_; }
  // The alert that ended it (PeerAlert), for the log.
  std::uint8_t peer_alert() const noexcept { return peer_alert_; }

 private:
  TlsRecordLayer(std::unique_ptr<RecordCipher> read, std::unique_ptr<RecordCipher> write, bool server,
                 std::uint64_t records_per_key);
  // Acts on a handshake record's messages; an error ends the connection.
  std::error_code on_handshake(std::span<const std::uint8_t> messages);

  std::unique_ptr<RecordCipher> read_;
  std::unique_ptr<RecordCipher> write_;
  const bool server_;
  const std::uint64_t records_per_key_;
  bool key_update_owed_ = false;
  bool closed_ = false;
  std::error_code failed_;        // reading ended
  std::error_code write_failed_;  // sealing ended (keys half-switched, a sequence spent)
  unsigned records_without_data_ = 0;
  std::uint8_t peer_alert_ = 0;
  std::uint64_t sealed_total_ = 0;
  std::uint64_t opened_total_ = 0;
  std::uint64_t key_updates_sent_ = 0;
  std::uint64_t key_updates_received_ = 0;
};

}  // namespace datafold::net::detail

namespace std {
template <>
struct is_error_code_enum<datafold::net::detail::TlsRecordError> : true_type {};
}  // namespace std
