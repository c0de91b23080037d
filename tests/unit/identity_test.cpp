#include "datafold/net/identity.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/encoding.hpp"
#include "core/openssl_ptr.hpp"

namespace datafold::net {
namespace {

namespace fs = std::filesystem;

// RFC 8032 section 7.1, test 1, as PKCS#8 PEM. Built independently of this code:
//   printf 302e020100300506032b657004220420<secret key hex> | xxd -r -p |
//     openssl pkey -inform DER
// (secret key 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60)
constexpr std::string_view kRfc8032Test1Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kRfc8032PublicKeyHex =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kRfc8032SignatureHex =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
    "b46bd25bf5f0595bbe24655141438e7a100b";
// sha256 of the public key, lower-case unpadded base32 (computed with sha256sum + python3).
constexpr std::string_view kRfc8032NodeIdText = "eh7ddx5bksrgcytl7bkai36se4nxx3klnk7elksyq57pi74xeg4q";

using detail::BioFree;
using detail::PkeyPtr;

std::string pkcs8_pem(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr,
                      const char* passphrase = nullptr) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, cipher, nullptr, 0, nullptr,
                                          const_cast<char*>(passphrase)),
            1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string public_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// The base64 body of a PEM block: what must never appear in an error message.
std::vector<std::string> pem_body_lines(const std::string& pem) {
  std::vector<std::string> lines;
  std::istringstream in(pem);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.rfind("-----", 0) != 0) lines.push_back(line);
  }
  return lines;
}

void expect_config_error_without_key_material(const NetworkResult<Identity>& result,
                                              const std::string& file_text,
                                              const std::string& path) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Config);
  const std::string& message = result.error().message;
  if (!path.empty()) {
    EXPECT_NE(message.find(path), std::string::npos) << message;
  }
  EXPECT_EQ(message.find("PRIVATE KEY"), std::string::npos) << message;
  EXPECT_EQ(message.find("-----"), std::string::npos) << message;
  for (const auto& line : pem_body_lines(file_text)) {
    EXPECT_EQ(message.find(line.substr(0, 16)), std::string::npos) << message;
  }
  EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left dirty";
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "datafold-identity-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    ASSERT_TRUE(out.good());
  }

  fs::path dir_;
};

// Restores the process umask when a test that changed it ends.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(Identity, Rfc8032Test1KeyGivesKnownPublicKeyNodeIdAndSignature) {
  auto identity = Identity::from_pem(kRfc8032Test1Pem);
  ASSERT_TRUE(identity.ok()) << identity.error().to_string();
  EXPECT_EQ(detail::hex_encode(identity->public_key().bytes()), kRfc8032PublicKeyHex);
  EXPECT_EQ(identity->node_id().to_string(), kRfc8032NodeIdText);
  EXPECT_EQ(identity->node_id(), identity->public_key().node_id());

  const Identity::Signature signature = identity->sign({});
  EXPECT_EQ(detail::hex_encode(signature), kRfc8032SignatureHex);
  EXPECT_TRUE(identity->public_key().verify({}, signature));
}

TEST(Identity, SignaturesVerifyAndAreDeterministic) {
  auto identity = Identity::generate();
  ASSERT_TRUE(identity.ok());
  const std::vector<std::uint8_t> message{'h', 'e', 'l', 'l', 'o'};
  const auto signature = identity->sign(message);
  EXPECT_TRUE(identity->public_key().verify(message, signature));
  EXPECT_EQ(identity->sign(message), signature);  // Ed25519 has no per-signature randomness
  EXPECT_FALSE(identity->public_key().verify(std::vector<std::uint8_t>{'h'}, signature));
}

TEST(Identity, GenerateGivesDistinctKeys) {
  auto a = Identity::generate();
  auto b = Identity::generate();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->public_key(), b->public_key());
  EXPECT_NE(a->node_id(), b->node_id());
  EXPECT_FALSE(a->node_id().empty());
  EXPECT_EQ(a->node_id(), a->public_key().node_id());
  EXPECT_NE(a->native_handle(), nullptr);
}

TEST(Identity, CopiesShareTheKeyAndOutliveTheOriginal) {
  std::optional<Identity> copy;
  PublicKey key;
  {
    auto original = Identity::generate();
    ASSERT_TRUE(original.ok());
    copy.emplace(*original);
    key = original->public_key();
  }
  const std::vector<std::uint8_t> message{1, 2, 3};
  EXPECT_TRUE(key.verify(message, copy->sign(message)));
}

TEST_F(IdentityTest, SaveThenLoadRoundTrips) {
  auto identity = Identity::generate();
  ASSERT_TRUE(identity.ok());
  const fs::path file = dir_ / "node.pem";
  ASSERT_TRUE(identity->save(file).ok());

  auto loaded = Identity::load(file);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_EQ(loaded->public_key(), identity->public_key());
  EXPECT_EQ(loaded->node_id(), identity->node_id());
  const std::vector<std::uint8_t> message{9, 9, 9};
  EXPECT_EQ(loaded->sign(message), identity->sign(message));
}

TEST_F(IdentityTest, SaveWritesPkcs8Pem) {
  auto identity = Identity::from_pem(kRfc8032Test1Pem);
  ASSERT_TRUE(identity.ok());
  const fs::path file = dir_ / "node.pem";
  ASSERT_TRUE(identity->save(file).ok());
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), kRfc8032Test1Pem);
}

TEST_F(IdentityTest, SaveCreatesMode0600WhateverTheUmask) {
  auto identity = Identity::generate();
  ASSERT_TRUE(identity.ok());
  for (mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}, mode_t{0277}}) {
    ScopedUmask umask(mask);
    const fs::path file = dir_ / ("node-" + std::to_string(mask) + ".pem");
    ASSERT_TRUE(identity->save(file).ok());
    EXPECT_EQ(mode_of(file), 0600u) << "umask " << std::oct << mask;
  }
}

TEST_F(IdentityTest, SaveReplacesAnExistingFileAndItsLooseMode) {
  const fs::path file = dir_ / "node.pem";
  write_file(file, "old contents");
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);

  auto identity = Identity::generate();
  ASSERT_TRUE(identity.ok());
  ASSERT_TRUE(identity->save(file).ok());
  EXPECT_EQ(mode_of(file), 0600u);
  auto loaded = Identity::load(file);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->node_id(), identity->node_id());
}

TEST_F(IdentityTest, SaveLeavesNoTemporaryFiles) {
  auto identity = Identity::generate();
  ASSERT_TRUE(identity.ok());
  ASSERT_TRUE(identity->save(dir_ / "node.pem").ok());
  ASSERT_TRUE(identity->save(dir_ / "node.pem").ok());
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"node.pem"});
}

TEST_F(IdentityTest, SaveIntoMissingDirectoryIsConfigError) {
  auto identity = Identity::generate();
  ASSERT_TRUE(identity.ok());
  const fs::path file = dir_ / "missing" / "node.pem";
  auto saved = identity->save(file);
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.error().kind, ErrorKind::Config);
  EXPECT_NE(saved.error().message.find(file.string()), std::string::npos);
}

TEST_F(IdentityTest, LoadMissingFileIsConfigErrorNamingTheFile) {
  const fs::path file = dir_ / "absent.pem";
  expect_config_error_without_key_material(Identity::load(file), "", file.string());
}

TEST_F(IdentityTest, LoadGarbageIsConfigErrorWithoutContents) {
  const fs::path file = dir_ / "garbage.pem";
  const std::string garbage =
      "-----BEGIN PRIVATE KEY-----\n"
      "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n"
      "-----END PRIVATE KEY-----\n";
  write_file(file, garbage);
  expect_config_error_without_key_material(Identity::load(file), garbage, file.string());

  constexpr char kBinary[] = "\x00\x01\x02 not pem at all";
  write_file(file, std::string(kBinary, sizeof kBinary - 1));
  expect_config_error_without_key_material(Identity::load(file), "", file.string());
}

TEST_F(IdentityTest, LoadRsaKeyIsConfigErrorWithoutKeyMaterial) {
  PkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}));
  ASSERT_NE(rsa, nullptr);
  const std::string pem = pkcs8_pem(rsa.get());
  const fs::path file = dir_ / "rsa.pem";
  write_file(file, pem);
  expect_config_error_without_key_material(Identity::load(file), pem, file.string());
}

TEST_F(IdentityTest, LoadP256KeyIsConfigErrorWithoutKeyMaterial) {
  PkeyPtr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_NE(ec, nullptr);
  const std::string pem = pkcs8_pem(ec.get());
  const fs::path file = dir_ / "p256.pem";
  write_file(file, pem);
  expect_config_error_without_key_material(Identity::load(file), pem, file.string());
}

TEST(Identity, FromPemRejectsOtherKeysAndForms) {
  PkeyPtr ed448(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
  ASSERT_NE(ed448, nullptr);
  const std::string ed448_pem = pkcs8_pem(ed448.get());
  expect_config_error_without_key_material(Identity::from_pem(ed448_pem), ed448_pem, "");

  expect_config_error_without_key_material(Identity::from_pem(""), "", "");
  expect_config_error_without_key_material(Identity::from_pem("hello"), "", "");

  auto identity = Identity::from_pem(kRfc8032Test1Pem);
  ASSERT_TRUE(identity.ok());
  const std::string pub = public_pem(identity->native_handle());
  expect_config_error_without_key_material(Identity::from_pem(pub), pub, "");
}

TEST(Identity, FromPemRejectsEncryptedKeyWithoutPrompting) {
  auto identity = Identity::from_pem(kRfc8032Test1Pem);
  ASSERT_TRUE(identity.ok());
  const std::string encrypted =
      pkcs8_pem(identity->native_handle(), EVP_aes_256_cbc(), "passphrase");
  ASSERT_NE(encrypted.find("ENCRYPTED PRIVATE KEY"), std::string::npos);
  expect_config_error_without_key_material(Identity::from_pem(encrypted), encrypted, "");
}

TEST_F(IdentityTest, LoadOrCreateCreatesParentDirsThenReusesTheKey) {
  const fs::path file = dir_ / "a" / "b" / "node.pem";
  auto first = Identity::load_or_create(file);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_TRUE(fs::is_regular_file(file));
  EXPECT_EQ(mode_of(file), 0600u);

  auto second = Identity::load_or_create(file);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(second->node_id(), first->node_id());

  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(file.parent_path())) {
    names.push_back(entry.path().filename());
  }
  EXPECT_EQ(names, std::vector<std::string>{"node.pem"});
}

TEST_F(IdentityTest, LoadOrCreateNeverReplacesABrokenKeyFile) {
  const fs::path file = dir_ / "node.pem";
  write_file(file, "corrupt");
  expect_config_error_without_key_material(Identity::load_or_create(file), "", file.string());
  std::ifstream in(file);
  std::string contents;
  std::getline(in, contents);
  EXPECT_EQ(contents, "corrupt");
}

TEST_F(IdentityTest, LoadOrCreateNeverReplacesWhatIsAlreadyAtThePath) {
  // A dangling symlink "does not exist", yet something is there: creating the
  // key must not replace it (the same path a racing second process takes).
  const fs::path file = dir_ / "node.pem";
  fs::create_symlink(dir_ / "elsewhere.pem", file);
  expect_config_error_without_key_material(Identity::load_or_create(file), "", file.string());
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(file)));
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere.pem"));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"node.pem"});  // no temp file left behind
}

}  // namespace
}  // namespace datafold::net
