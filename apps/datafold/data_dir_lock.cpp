#include "data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace datafold::app {

namespace {

net::NetworkError lock_error(const std::filesystem::path& path, const std::string& what, int error) {
  return net::make_error(net::ErrorKind::Config,
                         "cannot " + what + " " + path.string() + ": " + std::strerror(error));
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

net::NetworkResult<DataDirLock> DataDirLock::acquire(const std::filesystem::path& data_dir) {
  const auto path = node_lock_path(data_dir);
  // A few rounds: the holder may exit between our failed try and our look at who it is.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return lock_error(path, "open", errno);
    // A POSIX record lock rather than flock(): F_GETLK tells another process who holds
    // it (find_running_node), without taking it.
    struct flock whole {};
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &whole) == 0) {
      DataDirLock lock(data_dir, fd);
      std::error_code ignored;
      std::filesystem::remove(running_node_path(data_dir), ignored);  // a crashed node's
      return lock;
    }
    const int error = errno;
    ::close(fd);
    if (error != EACCES && error != EAGAIN) return lock_error(path, "lock", error);
    if (auto holder = find_running_node(data_dir))
      return net::make_error(net::ErrorKind::Config,
                             "another datafold node is running on data dir " + data_dir.string() + ": " +
                                 holder->describe() + "; stop it first, or give this one another --data-dir");
  }
  return net::make_error(net::ErrorKind::Config, "cannot lock " + path.string() + ": it changes hands too fast");
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept
    : data_dir_(std::move(other.data_dir_)), fd_(std::exchange(other.fd_, -1)) {}

DataDirLock::~DataDirLock() {
  if (fd_ < 0) return;
  // Record first, lock second: while the lock is held, a reader trusts the record.
  std::error_code ignored;
  std::filesystem::remove(running_node_path(data_dir_), ignored);
  ::close(fd_);
}

net::NetworkResult<void> DataDirLock::publish(const std::string& node_id, const std::string& listen,
                                              const std::optional<std::string>& http) const {
  RunningNode self;
  self.pid = ::getpid();
  self.published = true;
  self.node_id = node_id;
  self.listen = listen;
  self.http = http;
  const auto path = running_node_path(data_dir_);
  auto temporary = path;
  temporary += ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return lock_error(temporary, "create", errno);
  const bool written = write_all(fd, running_node_json(self));
  const int write_errno = errno;
  if (::close(fd) != 0 || !written) {
    ::unlink(temporary.c_str());
    return lock_error(temporary, "write", written ? errno : write_errno);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return lock_error(path, "replace", error);
  }
  return {};
}

}  // namespace datafold::app
