// A private directory for fuzzers that drive code reading real files: one per
// fuzzing process, removed when it exits.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace datafold::fuzz {

// In /dev/shm when there is one: on ext4, every input rewrites a file in place or
// renames over it, and each of those flushes the old data to disk (auto_da_alloc),
// which made the file fuzzers five to ten times slower.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                      : std::filesystem::temp_directory_path();
    std::string made = (base / "datafold-fuzz-XXXXXX").string();
    if (::mkdtemp(made.data()) == nullptr) std::abort();
    static const std::string remove_on_exit = made;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(remove_on_exit, ignored);
    });
    return std::filesystem::path(made);
  }();
  return dir;
}

}  // namespace datafold::fuzz
