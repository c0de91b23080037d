#include "transport/tls_certificate.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string>

#include "core/openssl_ptr.hpp"

namespace datafold::net::detail {
namespace {

struct BnFree {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct StoreFree {
  void operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); }
};

Identity make_identity() {
  auto identity = Identity::generate();
  EXPECT_TRUE(identity.ok());
  return std::move(identity).value();
}

X509Ptr make_cert(const Identity& identity) {
  auto cert = make_self_signed_certificate(identity);
  EXPECT_TRUE(cert.ok()) << cert.error().to_string();
  return std::move(cert).value();
}

std::string common_name(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

std::time_t to_time(const ASN1_TIME* t) {
  std::tm tm{};
  EXPECT_EQ(ASN1_TIME_to_tm(t, &tm), 1);
  return timegm(&tm);
}

TEST(TlsCertificate, CarriesTheIdentityPublicKey) {
  const Identity identity = make_identity();
  const X509Ptr cert = make_cert(identity);
  EXPECT_EQ(public_key_of_certificate(cert.get()), identity.public_key());
}

TEST(TlsCertificate, DerRoundTripGivesTheIdentityPublicKey) {
  const Identity identity = make_identity();
  const X509Ptr cert = make_cert(identity);
  unsigned char* der = nullptr;
  const int size = i2d_X509(cert.get(), &der);
  ASSERT_GT(size, 0);
  const unsigned char* cursor = der;
  X509Ptr parsed(d2i_X509(nullptr, &cursor, size));
  OPENSSL_free(der);
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(public_key_of_certificate(parsed.get()), identity.public_key());
  EXPECT_EQ(public_key_of_certificate(parsed.get())->node_id(), identity.node_id());
}

TEST(TlsCertificate, IsV3WithNodeIdAsSubjectAndIssuer) {
  const Identity identity = make_identity();
  const X509Ptr cert = make_cert(identity);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(common_name(X509_get_subject_name(cert.get())), identity.node_id().to_string());
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);
}

TEST(TlsCertificate, IsSignedByTheIdentityKeyOnly) {
  const Identity identity = make_identity();
  const Identity other = make_identity();
  const X509Ptr cert = make_cert(identity);
  EXPECT_EQ(X509_verify(cert.get(), identity.native_handle()), 1);
  EXPECT_NE(X509_verify(cert.get(), other.native_handle()), 1);
  ERR_clear_error();
}

TEST(TlsCertificate, OpenSslSeesItAsSelfSigned) {
  // The TLS verify callback is handed exactly this classification for a peer's certificate.
  const X509Ptr cert = make_cert(make_identity());
  EXPECT_EQ(X509_check_issued(cert.get(), cert.get()), X509_V_OK);

  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr), 1);
  EXPECT_NE(X509_verify_cert(ctx.get()), 1);
  EXPECT_EQ(X509_STORE_CTX_get_error(ctx.get()), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
  ERR_clear_error();
}

TEST(TlsCertificate, ValidFromAnHourAgoForTenYears) {
  const std::time_t now = std::time(nullptr);
  const X509Ptr cert = make_cert(make_identity());
  const std::time_t not_before = to_time(X509_get0_notBefore(cert.get()));
  const std::time_t not_after = to_time(X509_get0_notAfter(cert.get()));
  EXPECT_NEAR(static_cast<double>(not_before), static_cast<double>(now - 3600), 120.0);
  const double days = static_cast<double>(not_after - not_before) / 86400.0;
  EXPECT_GE(days, 3650.0);
  EXPECT_LE(days, 3653.0);
}

TEST(TlsCertificate, SerialIsRandomPositiveAndAtMost20Octets) {
  const Identity identity = make_identity();
  const X509Ptr a = make_cert(identity);
  const X509Ptr b = make_cert(identity);
  std::unique_ptr<BIGNUM, BnFree> serial(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(a.get()), nullptr));
  ASSERT_NE(serial, nullptr);
  EXPECT_FALSE(BN_is_negative(serial.get()));
  EXPECT_FALSE(BN_is_zero(serial.get()));
  EXPECT_LE(BN_num_bytes(serial.get()), 20);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())), 0);
}

TEST(TlsCertificate, PublicKeyOfNonEd25519CertificateIsNullopt) {
  EXPECT_EQ(public_key_of_certificate(nullptr), std::nullopt);

  std::unique_ptr<EVP_PKEY, PkeyFree> ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_NE(ec, nullptr);
  X509Ptr cert(X509_new());
  ASSERT_NE(cert, nullptr);
  ASSERT_EQ(X509_set_pubkey(cert.get(), ec.get()), 1);
  ASSERT_GT(X509_sign(cert.get(), ec.get(), EVP_sha256()), 0);
  EXPECT_EQ(public_key_of_certificate(cert.get()), std::nullopt);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace datafold::net::detail
