// Small POSIX file helpers shared by the files a node keeps in its data dir (the
// trust store, reputation): a descriptor closed on every path out, a full write,
// and a whole-file replacement that a reader or a crash sees entire or not at all.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

namespace datafold::net::detail {

// Closes a descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Closes now; false if close() reported an error (for written files, a lost write).
  bool reset() noexcept;

 private:
  int fd_;
};

// Writes all of `bytes` (retrying short writes and EINTR); false on an error (errno says).
bool write_all(int fd, std::string_view bytes);

// Writes `contents` to a temporary file beside `path` with `mode` (set explicitly,
// so the umask does not decide), flushes it to disk and renames it over `path`: a
// reader (or a crash) sees the old file or the new one, never a mix. "" when done,
// else what failed ("cannot write <tmp>: <reason>").
std::string replace_file_atomically(const std::filesystem::path& path, std::string_view contents, mode_t mode);

}  // namespace datafold::net::detail
