// A fresh directory under /tmp for a test's node data dirs, removed with everything
// in it at scope exit, unless the test has failed: then it is kept for a look.
#pragma once

#include <string>

namespace datafold::net::testing {

struct TempDir {
  // `prefix`: the directory's name up to a random suffix, e.g. "datafold-natmatrix".
  // Throws std::runtime_error if it cannot be made.
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path;
};

}  // namespace datafold::net::testing
