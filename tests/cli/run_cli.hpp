#pragma once
// Runs the built `portcullis` binary for end-to-end tests.

#include <string>
#include <vector>

namespace portcullis::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};

// Runs `portcullis args...` with the working directory `cwd` (empty: the
// test's own), feeding `input` on standard input.
CliResult run_cli(const std::vector<std::string>& args, const std::string& cwd = {}, const std::string& input = {});

// A fresh temporary directory, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to `relative` below the directory; returns the full path.
  std::string write(const std::string& relative, const std::string& content) const;
  std::string read(const std::string& relative) const;

 private:
  std::string path_;
};

}  // namespace portcullis::testing
