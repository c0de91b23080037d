#include "datafold/net/identity.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <system_error>

#include "core/encoding.hpp"
#include "core/openssl_ptr.hpp"

namespace datafold::net {
namespace {

// A key file is a few hundred bytes; refuse to slurp anything much larger.
constexpr off_t kMaxKeyFileSize = 64 * 1024;
constexpr int kTempNameAttempts = 8;

using detail::BioPtr;
using detail::MdCtxFree;
using detail::PkeyFree;
using detail::PkeyPtr;

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  // Closes now so a failed close (e.g. a deferred write error) can be reported.
  int close() noexcept {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Wipes the buffer that held PEM text on every path out of a function.
class Wiped {
 public:
  explicit Wiped(std::string& s) noexcept : s_(s) {}
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() {
    // Cover the spare capacity too: the string may have been shortened after a read.
    s_.resize(s_.capacity());
    OPENSSL_cleanse(s_.data(), s_.size());
  }

 private:
  std::string& s_;
};

// Never prompt on the terminal: an encrypted key is simply rejected.
int refuse_passphrase(char*, int, int, void*) { return -1; }

std::shared_ptr<EVP_PKEY> share(PkeyPtr key) {
  return std::shared_ptr<EVP_PKEY>(key.release(), PkeyFree{});
}

// Parses an unencrypted Ed25519 private key; nullptr for anything else.
PkeyPtr parse_ed25519_pem(std::string_view pem) {
  if (pem.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key;
  if (bio) key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr));
  if (!key || EVP_PKEY_is_a(key.get(), "ED25519") != 1) key.reset();
  // The failure is reported by our own error; OpenSSL's queue is not ours to leave dirty.
  ERR_clear_error();
  return key;
}

std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

NetworkError config_error(std::string message) {
  return make_error(ErrorKind::Config, std::move(message));
}

NetworkError file_error(std::string_view what, const std::filesystem::path& path, int err) {
  return config_error(std::string(what) + " " + quoted(path) + ": " +
                      std::generic_category().message(err));
}

NetworkError not_a_key_error(const std::string& where) {
  // Deliberately says nothing about the contents: they may be key material.
  return config_error(where + " is not an unencrypted Ed25519 key in PKCS#8 PEM form");
}

// Reads a small regular file; 0 or an errno value.
int read_small_file(const std::filesystem::path& path, std::string& out) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno;
  if (!S_ISREG(st.st_mode)) return EINVAL;
  if (st.st_size > kMaxKeyFileSize) return EFBIG;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;  // shrank while we read; parse what is there
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return 0;
}

int write_all_or_errno(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

// Makes a rename durable across a crash; best effort, the data itself is already synced.
void sync_directory(const std::filesystem::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

enum class Publish { kReplace, kNoClobber };

// Writes `data` to a fresh 0600 temp file beside `path`, then moves it into
// place in one step, so readers see the old file or the whole new one and
// the key is never readable by anyone else. Returns 0 or an errno value
// (EEXIST when kNoClobber finds the file already there).
int write_private_file(const std::filesystem::path& path, std::string_view data, Publish mode) {
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::filesystem::path temp;
  int raw_fd = -1;
  for (int attempt = 0; attempt < kTempNameAttempts && raw_fd < 0; ++attempt) {
    std::array<std::uint8_t, 8> suffix{};
    if (RAND_bytes(suffix.data(), static_cast<int>(suffix.size())) != 1) {
      ERR_clear_error();
      return EIO;
    }
    temp = dir / ("." + path.filename().string() + ".tmp-" + detail::hex_encode(suffix));
    raw_fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (raw_fd < 0 && errno != EEXIST) return errno;
  }
  if (raw_fd < 0) return EEXIST;
  FileDescriptor fd(raw_fd);

  int err = 0;
  // The umask can only clear bits; fchmod makes the mode exactly 0600.
  if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) err = errno;
  if (err == 0) err = write_all_or_errno(fd.get(), data);
  if (err == 0 && ::fsync(fd.get()) != 0) err = errno;
  if (fd.close() != 0 && err == 0) err = errno;
  if (err == 0) {
    if (mode == Publish::kReplace) {
      if (::rename(temp.c_str(), path.c_str()) != 0) err = errno;
    } else if (::link(temp.c_str(), path.c_str()) != 0) {
      // link(), unlike rename(), refuses to replace an existing file.
      err = errno;
    }
  }
  if (err != 0 || mode == Publish::kNoClobber) ::unlink(temp.c_str());
  if (err == 0) sync_directory(dir);
  return err;
}

// PKCS#8 PEM text in OpenSSL's secure heap, wiped when the BIO is freed.
BioPtr encode_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                            nullptr) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return bio;
}

std::string_view bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string_view(data, static_cast<std::size_t>(size)) : std::string_view();
}

}  // namespace

Identity::Identity(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {
  // Callers only pass keys already checked to be Ed25519, so this cannot fail
  // short of memory exhaustion; the ids then stay empty and match nothing.
  std::array<std::uint8_t, PublicKey::kSize> raw{};
  std::size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw.data(), &size) == 1 && size == raw.size()) {
    public_key_ = PublicKey{raw};
    node_id_ = public_key_.node_id();
  } else {
    ERR_clear_error();
  }
}

NetworkResult<Identity> Identity::generate() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) {
    ERR_clear_error();
    return make_error(ErrorKind::Config, "cannot generate an Ed25519 key pair",
                      ErrorCode::InternalError);
  }
  return Identity(share(std::move(key)));
}

NetworkResult<Identity> Identity::load(const std::filesystem::path& pem_file) {
  std::string pem;
  Wiped wipe(pem);
  if (const int err = read_small_file(pem_file, pem); err != 0) {
    return file_error("cannot read identity key file", pem_file, err);
  }
  PkeyPtr key = parse_ed25519_pem(pem);
  if (!key) return not_a_key_error("identity key file " + quoted(pem_file));
  return Identity(share(std::move(key)));
}

NetworkResult<Identity> Identity::from_pem(std::string_view pem) {
  PkeyPtr key = parse_ed25519_pem(pem);
  if (!key) return not_a_key_error("identity key");
  return Identity(share(std::move(key)));
}

NetworkResult<Identity> Identity::load_or_create(const std::filesystem::path& pem_file) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(pem_file, ec);
  if (ec) return file_error("cannot access identity key file", pem_file, ec.value());
  if (exists) return load(pem_file);

  if (pem_file.has_parent_path()) {
    std::filesystem::create_directories(pem_file.parent_path(), ec);
    if (ec) return file_error("cannot create directory for", pem_file, ec.value());
  }
  auto created = generate();
  if (!created) return created;
  BioPtr pem = encode_pem(created->native_handle());
  if (!pem) {
    return make_error(ErrorKind::Config, "cannot encode the identity key",
                      ErrorCode::InternalError);
  }
  const int err = write_private_file(pem_file, bio_contents(pem.get()), Publish::kNoClobber);
  // Another process created the key first: use theirs, so both agree on the id.
  if (err == EEXIST) return load(pem_file);
  if (err != 0) return file_error("cannot write identity key file", pem_file, err);
  return created;
}

NetworkResult<void> Identity::save(const std::filesystem::path& pem_file) const {
  BioPtr pem = encode_pem(key_.get());
  if (!pem) {
    return make_error(ErrorKind::Config, "cannot encode the identity key",
                      ErrorCode::InternalError);
  }
  if (const int err = write_private_file(pem_file, bio_contents(pem.get()), Publish::kReplace);
      err != 0) {
    return file_error("cannot write identity key file", pem_file, err);
  }
  return {};
}

Identity::Signature Identity::sign(std::span<const std::uint8_t> message) const {
  static constexpr unsigned char kEmpty = 0;  // OpenSSL wants non-null data even when empty
  Signature signature{};
  std::size_t size = signature.size();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
      EVP_DigestSign(ctx.get(), signature.data(), &size,
                     message.empty() ? &kEmpty : message.data(), message.size()) == 1 &&
      size == signature.size();
  if (!ok) {
    // Only memory exhaustion gets here. The header gives sign() no error
    // channel, so return a signature that will not verify rather than garbage.
    ERR_clear_error();
    signature.fill(0);
  }
  return signature;
}

}  // namespace datafold::net
