#include "core/posix_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "datafold/net/uuid.hpp"

namespace datafold::net::detail {

bool Fd::reset() noexcept {
  const int fd = std::exchange(fd_, -1);
  return fd < 0 || ::close(fd) == 0;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string replace_file_atomically(const std::filesystem::path& path, std::string_view contents, mode_t mode) {
  namespace fs = std::filesystem;
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const fs::path tmp = dir / ("." + path.filename().string() + ".tmp-" + Uuid::random().to_string());
  auto fail = [&](const std::string& what, int error) {
    ::unlink(tmp.c_str());
    return what + ": " + std::strerror(error);
  };
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd) return "cannot create " + tmp.string() + ": " + std::strerror(errno);
    if (::fchmod(fd.get(), mode) != 0) return fail("cannot set mode of " + tmp.string(), errno);
    if (!write_all(fd.get(), contents)) return fail("cannot write " + tmp.string(), errno);
    if (::fsync(fd.get()) != 0) return fail("cannot flush " + tmp.string(), errno);
    if (!fd.reset()) return fail("cannot close " + tmp.string(), errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot replace the file", errno);
  // Make the rename itself durable; failing here loses nothing already visible.
  if (Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); dir_fd) (void)::fsync(dir_fd.get());
  return {};
}

}  // namespace datafold::net::detail
