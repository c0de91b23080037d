#include "transport/tls_certificate.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <string>

namespace datafold::net::detail {
namespace {

// RFC 5280 allows at most 20 octets and asks for a positive serial; 159 random
// bits with the top bit clear satisfy both and make collisions irrelevant.
constexpr int kSerialBits = 159;
constexpr long kBackdateSeconds = 60 * 60;
constexpr int kValidityDays = 3652;  // ten years, counting leap days

struct BnFree {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct ExtensionFree {
  void operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); }
};

bool set_random_serial(X509* cert) {
  std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
  return serial && BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
         BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) != nullptr;
}

bool set_validity(X509* cert) {
  return X509_gmtime_adj(X509_getm_notBefore(cert), -kBackdateSeconds) != nullptr &&
         X509_time_adj_ex(X509_getm_notAfter(cert), kValidityDays, -kBackdateSeconds, nullptr) !=
             nullptr;
}

bool set_names(X509* cert, const std::string& common_name) {
  X509_NAME* name = X509_get_subject_name(cert);
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                    -1, -1, 0) == 1 &&
         X509_set_issuer_name(cert, name) == 1;
}

// An end-entity certificate. No keyUsage extension on purpose: without
// keyCertSign in it OpenSSL would stop treating the certificate as self-signed,
// and the TLS verify callback relies on that classification.
bool add_basic_constraints(X509* cert) {
  std::unique_ptr<X509_EXTENSION, ExtensionFree> ext(
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:FALSE"));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

}  // namespace

NetworkResult<X509Ptr> make_self_signed_certificate(const Identity& identity) {
  EVP_PKEY* key = identity.native_handle();
  X509Ptr cert(X509_new());
  const bool ok = key != nullptr && cert && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
                  set_random_serial(cert.get()) && set_validity(cert.get()) &&
                  set_names(cert.get(), identity.node_id().to_string()) &&
                  X509_set_pubkey(cert.get(), key) == 1 && add_basic_constraints(cert.get()) &&
                  // Ed25519 hashes internally, so no digest is given.
                  X509_sign(cert.get(), key, nullptr) > 0;
  if (!ok) {
    ERR_clear_error();
    return make_error(ErrorKind::Config, "cannot create the node's TLS certificate",
                      ErrorCode::InternalError);
  }
  return cert;
}

std::optional<PublicKey> public_key_of_certificate(X509* cert) {
  if (cert == nullptr) return std::nullopt;
  EVP_PKEY* key = X509_get0_pubkey(cert);  // borrowed, owned by cert
  std::array<std::uint8_t, PublicKey::kSize> raw{};
  std::size_t size = raw.size();
  if (key == nullptr || EVP_PKEY_is_a(key, "ED25519") != 1 ||
      EVP_PKEY_get_raw_public_key(key, raw.data(), &size) != 1 || size != raw.size()) {
    ERR_clear_error();
    return std::nullopt;
  }
  return PublicKey{raw};
}

}  // namespace datafold::net::detail
