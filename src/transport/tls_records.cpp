#include "transport/tls_records.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "core/encoding.hpp"

namespace datafold::net::detail {

namespace {

constexpr std::uint8_t kChangeCipherSpec = 20;
constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kApplicationData = 23;

constexpr std::uint8_t kNewSessionTicket = 4;
constexpr std::uint8_t kKeyUpdate = 24;
constexpr std::uint8_t kCloseNotify = 0;
constexpr std::uint8_t kUserCanceled = 90;

// Records in a row that carry no data (warnings, KeyUpdates, tickets, empty
// records) before the peer is taken to be wasting the node's time, as OpenSSL
// limits them.
constexpr unsigned kMaxRecordsWithoutData = 32;

constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kMaxSecretBytes = 64;

// What a suite needs: its AEAD and the hash its key schedule uses.
struct Suite {
  std::uint16_t id;
  const EVP_CIPHER* (*cipher)();
  std::size_t key_bytes;
  const char* digest;
  std::size_t hash_bytes;
};

constexpr Suite kSuites[] = {
    {static_cast<std::uint16_t>(TlsSuite::Aes128GcmSha256), EVP_aes_128_gcm, 16, "SHA256", 32},
    {static_cast<std::uint16_t>(TlsSuite::Aes256GcmSha384), EVP_aes_256_gcm, 32, "SHA384", 48},
    {static_cast<std::uint16_t>(TlsSuite::Chacha20Poly1305Sha256), EVP_chacha20_poly1305, 32, "SHA256", 32},
};

const Suite* find_suite(std::uint16_t id) {
  for (const auto& suite : kSuites)
    if (suite.id == id) return &suite;
  return nullptr;
}

// HKDF-Expand-Label(secret, label, "", out.size()) (RFC 8446 section 7.1).
bool expand_label(const Suite& suite, std::span<const std::uint8_t> secret, std::string_view label,
                  std::span<std::uint8_t> out) {
  constexpr std::string_view kPrefix = "tls13 ";
  std::array<std::uint8_t, 2 + 1 + 255 + 1> info{};
  std::size_t n = 0;
  info[n++] = static_cast<std::uint8_t>(out.size() >> 8);
  info[n++] = static_cast<std::uint8_t>(out.size());
  info[n++] = static_cast<std::uint8_t>(kPrefix.size() + label.size());
  std::memcpy(info.data() + n, kPrefix.data(), kPrefix.size());
  n += kPrefix.size();
  std::memcpy(info.data() + n, label.data(), label.size());
  n += label.size();
  info[n++] = 0;  // no context

  static EVP_KDF* const hkdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (hkdf == nullptr) return false;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(hkdf);
  if (ctx == nullptr) return false;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(suite.digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), n),
      OSSL_PARAM_construct_end(),
  };
  const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);
  return ok;
}

int secrets_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL's key-log line "<label> <client random> <secret>", both in hex: the two
// application traffic secrets go to the SSL's TrafficSecrets, the rest nowhere.
void take_secret(const SSL* ssl, const char* line) {
  auto* into = static_cast<TrafficSecrets*>(SSL_get_ex_data(ssl, secrets_index()));
  if (into == nullptr) return;
  const std::string_view text(line);
  const auto label_end = text.find(' ');
  if (label_end == std::string_view::npos) return;
  const std::string_view label = text.substr(0, label_end);
  TrafficSecret* target = label == "CLIENT_TRAFFIC_SECRET_0"   ? &into->client
                          : label == "SERVER_TRAFFIC_SECRET_0" ? &into->server
                                                               : nullptr;
  if (target == nullptr) return;
  const auto random_end = text.find(' ', label_end + 1);
  if (random_end == std::string_view::npos) return;
  // hex_decode sizes its vector once, so this is the one copy to wipe.
  auto bytes = hex_decode(text.substr(random_end + 1));
  if (!bytes) return;
  (void)target->assign(*bytes);
  OPENSSL_cleanse(bytes->data(), bytes->size());
}

class TlsRecordCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls record"; }
  std::string message(int value) const override {
    switch (static_cast<TlsRecordError>(value)) {
      case TlsRecordError::BadRecordMac:
        return "TLS record failed authentication";
      case TlsRecordError::RecordOverflow:
        return "TLS record too long";
      case TlsRecordError::UnexpectedMessage:
        return "unexpected TLS record or message";
      case TlsRecordError::DecodeError:
        return "malformed TLS alert or handshake message";
      case TlsRecordError::IllegalParameter:
        return "TLS message with a value not allowed";
      case TlsRecordError::PeerAlert:
        return "peer sent a fatal TLS alert";
      case TlsRecordError::Internal:
        return "TLS record protection failed";
    }
    return "TLS record error";
  }
};

}  // namespace

TrafficSecret::~TrafficSecret() { wipe(); }

bool TrafficSecret::assign(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > bytes_.size()) return false;
  wipe();
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
  size_ = bytes.size();
  return true;
}

void TrafficSecret::wipe() noexcept {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
  size_ = 0;
}

void offer_traffic_secrets(SSL_CTX* ctx) { SSL_CTX_set_keylog_callback(ctx, take_secret); }

void capture_traffic_secrets(SSL* ssl, TrafficSecrets* into) { SSL_set_ex_data(ssl, secrets_index(), into); }

const std::error_category& tls_record_category() noexcept {
  static const TlsRecordCategory category;
  return category;
}

std::error_code make_error_code(TlsRecordError e) noexcept { return {static_cast<int>(e), tls_record_category()}; }

std::optional<std::uint8_t> alert_for(const std::error_code& error) noexcept {
  if (error.category() != tls_record_category()) return std::nullopt;
  switch (static_cast<TlsRecordError>(error.value())) {
    case TlsRecordError::BadRecordMac:
      return 20;
    case TlsRecordError::RecordOverflow:
      return 22;
    case TlsRecordError::UnexpectedMessage:
      return 10;
    case TlsRecordError::DecodeError:
      return 50;
    case TlsRecordError::IllegalParameter:
      return 47;
    case TlsRecordError::Internal:
      return 80;
    case TlsRecordError::PeerAlert:
      break;  // the peer has closed already
  }
  return std::nullopt;
}

// One direction's protection (RFC 8446 section 5.2-5.3): the AEAD under the key of
// the current traffic secret, and the sequence number that makes each nonce.
class RecordCipher {
 public:
  RecordCipher(const Suite& suite, bool seals) : suite_(suite), seals_(seals), ctx_(EVP_CIPHER_CTX_new()) {}
  ~RecordCipher() {
    EVP_CIPHER_CTX_free(ctx_);
    OPENSSL_cleanse(iv_.data(), iv_.size());
  }
  RecordCipher(const RecordCipher&) = delete;
  RecordCipher& operator=(const RecordCipher&) = delete;

  // Keys from `secret`, the sequence back at zero.
  bool start(std::span<const std::uint8_t> secret) {
    if (ctx_ == nullptr || secret.size() != suite_.hash_bytes || !secret_.assign(secret)) return false;
    std::array<std::uint8_t, 32> key{};
    const bool ok = expand_label(suite_, secret, "key", {key.data(), suite_.key_bytes}) &&
                    expand_label(suite_, secret, "iv", iv_) &&
                    EVP_CipherInit_ex(ctx_, suite_.cipher(), nullptr, key.data(), nullptr, seals_ ? 1 : 0) == 1;
    OPENSSL_cleanse(key.data(), key.size());
    sequence_ = 0;
    return ok;
  }

  // The next traffic secret (KeyUpdate).
  bool update() {
    std::array<std::uint8_t, kMaxSecretBytes> next{};
    const std::span<std::uint8_t> out{next.data(), suite_.hash_bytes};
    const bool ok = expand_label(suite_, secret_.bytes(), "traffic upd", out) && start(out);
    OPENSSL_cleanse(next.data(), next.size());
    return ok;
  }

  std::uint64_t sequence() const noexcept { return sequence_; }

  // Appends one record: header, then `content` and its type byte encrypted, then
  // the tag. Encrypted from where the content is, straight into `out`.
  bool seal(std::uint8_t type, std::span<const std::uint8_t> content, SealedBytes& out) {
    const std::size_t body = content.size() + 1 + kTagBytes;
    const std::size_t start = out.size();
    out.resize(start + kTlsRecordHeaderBytes + body);
    std::uint8_t* header = out.data() + start;
    header[0] = kApplicationData;
    header[1] = 0x03;
    header[2] = 0x03;
    header[3] = static_cast<std::uint8_t>(body >> 8);
    header[4] = static_cast<std::uint8_t>(body);
    std::uint8_t* inner = header + kTlsRecordHeaderBytes;
    int n = 0;
    int last = 0;
    const bool ok = begin(header) &&
                    (content.empty() || EVP_CipherUpdate(ctx_, inner, &n, content.data(),
                                                         static_cast<int>(content.size())) == 1) &&
                    static_cast<std::size_t>(n) == content.size() &&
                    EVP_CipherUpdate(ctx_, inner + n, &last, &type, 1) == 1 && last == 1 &&
                    EVP_CipherFinal_ex(ctx_, inner + n + 1, &last) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTagBytes, inner + content.size() + 1) == 1;
    ++sequence_;
    return ok;
  }

  // Opens one whole record, decrypting it into `room`: its content and inner
  // type, padding stripped (type 0: it had none, all padding). The caller's room
  // holds at least the content a record may carry (2^14) or the whole record but
  // its type byte, so at most that byte goes aside.
  std::error_code open(std::span<const std::uint8_t> record, std::span<std::uint8_t> room, std::uint8_t& type,
                       std::size_t& content_size) {
    const std::uint8_t* header = record.data();
    const std::uint8_t* body = header + kTlsRecordHeaderBytes;
    const std::size_t size = record.size() - kTlsRecordHeaderBytes - kTagBytes;
    // OpenSSL copies the expected tag; its interface just is not const.
    auto* tag = const_cast<std::uint8_t*>(body + size);
    // The content and its type byte are at most 2^14 + 1 bytes (RFC 8446 5.4).
    if (size > kTlsMaxPlaintext + 1) return TlsRecordError::RecordOverflow;
    std::array<std::uint8_t, 1> aside;
    const std::size_t first = std::min(size, room.size());
    const std::size_t rest = size - first;
    if (rest > aside.size()) return TlsRecordError::RecordOverflow;
    int n = 0;
    const bool ok =
        begin(header) && EVP_CipherUpdate(ctx_, room.data(), &n, body, static_cast<int>(first)) == 1 &&
        (rest == 0 || EVP_CipherUpdate(ctx_, aside.data(), &n, body + first, static_cast<int>(rest)) == 1) &&
        EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTagBytes, tag) == 1 &&
        EVP_CipherFinal_ex(ctx_, aside.data(), &n) == 1;
    ++sequence_;
    if (!ok) return TlsRecordError::BadRecordMac;
    // The type is the last byte that is not padding (zeros).
    for (std::size_t i = rest; i-- > 0;) {
      if (aside[i] == 0) continue;
      if (i > 0) return TlsRecordError::RecordOverflow;
      type = aside[i];
      content_size = first;
      return {};
    }
    std::size_t last = first;
    while (last > 0 && room[last - 1] == 0) --last;
    type = last == 0 ? 0 : room[last - 1];
    content_size = last == 0 ? 0 : last - 1;
    return {};
  }

 private:
  // The nonce for this record, and the header as additional data.
  bool begin(const std::uint8_t* header) {
    std::array<std::uint8_t, kNonceBytes> nonce = iv_;
    for (int i = 0; i < 8; ++i) nonce[kNonceBytes - 1 - i] ^= static_cast<std::uint8_t>(sequence_ >> (8 * i));
    int n = 0;
    return sequence_ != std::numeric_limits<std::uint64_t>::max() &&
           EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data(), seals_ ? 1 : 0) == 1 &&
           EVP_CipherUpdate(ctx_, nullptr, &n, header, kTlsRecordHeaderBytes) == 1;
  }

  const Suite& suite_;
  const bool seals_;
  EVP_CIPHER_CTX* const ctx_;
  TrafficSecret secret_;
  std::array<std::uint8_t, kNonceBytes> iv_{};
  std::uint64_t sequence_ = 0;
};

std::unique_ptr<TlsRecordLayer> TlsRecordLayer::create(std::uint16_t suite_id, const TrafficSecrets& secrets,
                                                       bool server, std::string& why,
                                                       std::uint64_t records_per_key) {
  const Suite* suite = find_suite(suite_id);
  if (suite == nullptr) {
    why = "TLS suite " + std::to_string(suite_id) + " is not one this node protects records with";
    return nullptr;
  }
  const TrafficSecret& theirs = server ? secrets.client : secrets.server;
  const TrafficSecret& ours = server ? secrets.server : secrets.client;
  if (theirs.empty() || ours.empty()) {
    why = "the handshake gave no application traffic secrets";
    return nullptr;
  }
  auto read = std::make_unique<RecordCipher>(*suite, false);
  auto write = std::make_unique<RecordCipher>(*suite, true);
  if (!read->start(theirs.bytes()) || !write->start(ours.bytes())) {
    why = "cannot derive the TLS record keys";
    return nullptr;
  }
  return std::unique_ptr<TlsRecordLayer>(
      new TlsRecordLayer(std::move(read), std::move(write), server, std::max<std::uint64_t>(records_per_key, 1)));
}

TlsRecordLayer::TlsRecordLayer(std::unique_ptr<RecordCipher> read, std::unique_ptr<RecordCipher> write, bool server,
                               std::uint64_t records_per_key)
    : read_(std::move(read)), write_(std::move(write)), server_(server), records_per_key_(records_per_key) {}

TlsRecordLayer::~TlsRecordLayer() = default;

std::size_t TlsRecordLayer::record_size(std::span<const std::uint8_t> received) noexcept {
  if (received.size() < kTlsRecordHeaderBytes) return 0;
  return kTlsRecordHeaderBytes + (std::size_t{received[3]} << 8 | received[4]);
}

TlsRecordLayer::Opened TlsRecordLayer::open(std::span<const std::uint8_t> received, std::span<std::uint8_t> out) {
  Opened result;
  auto fail = [this, &result](std::error_code error) {
    failed_ = error;
    result.status = Status::Failed;
    result.error = error;
    return result;
  };
  if (failed_) return fail(failed_);
  while (!closed_) {
    const auto rest = received.subspan(result.consumed);
    const std::size_t size = record_size(rest);
    if (size == 0) break;
    // Protected records all say application data outside; the real type is inside.
    if (rest[0] != kApplicationData) return fail(make_error_code(TlsRecordError::UnexpectedMessage));
    const std::size_t body = size - kTlsRecordHeaderBytes;
    if (body > kTlsMaxCiphertext) return fail(make_error_code(TlsRecordError::RecordOverflow));
    if (body < 1 + kTagBytes) return fail(make_error_code(TlsRecordError::BadRecordMac));
    if (rest.size() < size) break;
    // Opened only if its content surely fits: at most body - 17 bytes, or (into a
    // whole `out` of kTlsMaxPlaintext) at most what TLS allows.
    const auto room = out.subspan(result.produced);
    if (body - 1 - kTagBytes > room.size() && !(result.produced == 0 && out.size() >= kTlsMaxPlaintext)) break;

    std::uint8_t type = 0;
    std::size_t content_size = 0;
    if (auto error = read_->open(rest.first(size), room, type, content_size)) return fail(error);
    if (content_size > kTlsMaxPlaintext) return fail(make_error_code(TlsRecordError::RecordOverflow));
    const auto content = room.first(content_size);
    result.consumed += size;
    ++opened_total_;
    switch (type) {
      case kApplicationData:
        result.produced += content.size();  // decrypted where it belongs
        break;
      case kAlert:
        if (content.size() != 2) return fail(make_error_code(TlsRecordError::DecodeError));
        if (content[1] == kUserCanceled) break;  // a close_notify follows
        if (content[1] != kCloseNotify) {
          peer_alert_ = content[1];
          return fail(make_error_code(TlsRecordError::PeerAlert));
        }
        closed_ = true;
        break;
      case kHandshake:
        if (auto error = on_handshake(content)) return fail(error);
        break;
      case kChangeCipherSpec:
      default:
        return fail(make_error_code(TlsRecordError::UnexpectedMessage));
    }
    records_without_data_ = content.empty() || type != kApplicationData ? records_without_data_ + 1 : 0;
    if (records_without_data_ > kMaxRecordsWithoutData)
      return fail(make_error_code(TlsRecordError::UnexpectedMessage));
  }
  if (closed_) result.status = Status::Closed;
  return result;
}

std::error_code TlsRecordLayer::on_handshake(std::span<const std::uint8_t> messages) {
  // Handshake messages after the handshake are small, and every TLS stack sends
  // each in one record: one split across records is refused rather than reassembled.
  if (messages.empty()) return TlsRecordError::UnexpectedMessage;
  std::size_t at = 0;
  while (at < messages.size()) {
    if (messages.size() - at < 4) return TlsRecordError::UnexpectedMessage;
    const std::uint8_t type = messages[at];
    const std::size_t length =
        std::size_t{messages[at + 1]} << 16 | std::size_t{messages[at + 2]} << 8 | messages[at + 3];
    at += 4;
    if (messages.size() - at < length) return TlsRecordError::UnexpectedMessage;
    if (type == kKeyUpdate) {
      if (length != 1) return TlsRecordError::DecodeError;
      if (messages[at] > 1) return TlsRecordError::IllegalParameter;
      // The new key starts with the next record: nothing may follow it in this one.
      if (at + length != messages.size()) return TlsRecordError::UnexpectedMessage;
      if (!read_->update()) return TlsRecordError::Internal;
      ++key_updates_received_;
      if (messages[at] == 1) key_update_owed_ = true;
    } else if (type != kNewSessionTicket || server_) {  // no resumption here: a server's ticket is dropped
      return TlsRecordError::UnexpectedMessage;
    }
    at += length;
  }
  return {};
}

bool TlsRecordLayer::seal(std::span<const std::uint8_t> plaintext, SealedBytes& out,
                          std::error_code& error) {
  const std::size_t records = (plaintext.size() + kTlsMaxPlaintext - 1) / kTlsMaxPlaintext;
  // A hint (a KeyUpdate now and then adds a record).
  out.reserve(out.size() + plaintext.size() + (records + 1) * (kTlsRecordHeaderBytes + 1 + kTagBytes) + 8);
  std::size_t at = 0;
  while (at < plaintext.size()) {
    if (key_update_owed_ || write_->sequence() >= records_per_key_) {
      // KeyUpdate(update_not_requested) under the old key, then the new key.
      constexpr std::uint8_t kUpdate[] = {kKeyUpdate, 0, 0, 1, 0};
      if (!seal_record(kHandshake, kUpdate, out, error)) return false;
      if (!write_->update()) {
        error = write_failed_ = TlsRecordError::Internal;
        return false;
      }
      key_update_owed_ = false;
      ++key_updates_sent_;
    }
    const std::size_t n = std::min(plaintext.size() - at, kTlsMaxPlaintext);
    if (!seal_record(kApplicationData, plaintext.subspan(at, n), out, error)) return false;
    at += n;
  }
  return true;
}

bool TlsRecordLayer::seal_record(std::uint8_t inner_type, std::span<const std::uint8_t> content, SealedBytes& out,
                                 std::error_code& error) {
  if (write_failed_) {
    error = write_failed_;
    return false;
  }
  if (content.size() > kTlsMaxPlaintext) {
    error = TlsRecordError::RecordOverflow;
    return false;
  }
  if (!write_->seal(inner_type, content, out)) {
    error = write_failed_ = TlsRecordError::Internal;
    return false;
  }
  ++sealed_total_;
  return true;
}

}  // namespace datafold::net::detail
