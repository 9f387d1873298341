// `portcullis fmt [--check] [--diff] PATH...`: rewrite policy files in the
// canonical layout (dsl/formatter.hpp), or report the files that are not.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "dsl/formatter.hpp"
#include "dsl/loader.hpp"
#include "dsl/parser.hpp"
#include "dsl/text_diff.hpp"
#include "tools/cli/commands.hpp"

namespace portcullis::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStdinName = "<stdin>";

struct FmtOptions {
  std::vector<std::string> paths;
  bool check = false;
  bool diff = false;
};

// The exit status: usage and I/O errors (2) outrank findings (1).
class Status {
 public:
  void raise(int code) { code_ = std::max(code_, code); }
  int code() const { return code_; }

 private:
  int code_ = kExitOk;
};

void report_io(const std::string& path, const std::string& what) {
  std::cerr << "portcullis fmt: " << path << ": " << what << "\n";
}

// Reads a whole file; on failure returns nullopt and sets `error`.
std::optional<std::string> read_whole_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::string("cannot read file: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    error = "cannot read file: read error";
    return std::nullopt;
  }
  return std::move(content).str();
}

bool write_all(int fd, const std::string& content) {
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  return true;
}

// Replaces the file's content through a temporary file in the same folder
// and a rename, so a crash leaves either the old policy or the new one,
// never half of one. Keeps the file's permissions; writes through symlinks.
bool replace_file(const std::string& path, const std::string& content, std::string& error) {
  std::error_code ec;
  fs::path target = path;
  if (fs::is_symlink(target, ec)) {
    target = fs::canonical(target, ec);
    if (ec) {
      error = "cannot resolve symbolic link: " + ec.message();
      return false;
    }
  }
  const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string temp = (folder / ("." + target.filename().string() + ".fmt-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    error = std::string("cannot create a temporary file next to it: ") + std::strerror(errno);
    return false;
  }
  struct stat info {};
  if (::stat(target.c_str(), &info) == 0) ::fchmod(fd, info.st_mode & 07777);
  const bool ok = write_all(fd, content) && ::fsync(fd) == 0;
  const int saved = errno;
  if (::close(fd) != 0 || !ok) {
    error = std::string("cannot write: ") + std::strerror(ok ? errno : saved);
    ::unlink(temp.c_str());
    return false;
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    error = std::string("cannot replace the file: ") + std::strerror(errno);
    ::unlink(temp.c_str());
    return false;
  }
  return true;
}

// The formatted text, or nullopt after printing the syntax errors.
std::optional<std::string> format_text(const std::string& name, std::string text) {
  const auto source = std::make_shared<const dsl::SourceFile>(name, std::move(text));
  const dsl::ParseResult parsed = dsl::parse(source);
  if (parsed.diagnostics.has_errors()) {
    for (const auto& d : parsed.diagnostics.items()) std::cerr << dsl::render_text(d) << "\n";
    return std::nullopt;
  }
  return dsl::format(parsed.file);
}

std::string diff_name(const std::string& prefix, const std::string& path) {
  return prefix + (path.starts_with("./") ? path.substr(2) : path);
}

void format_stdin(const FmtOptions& options, Status& status) {
  const std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  const auto formatted = format_text(kStdinName, text);
  if (!formatted) {
    status.raise(kExitFindings);
    return;
  }
  if (!options.check && !options.diff) {
    std::cout << *formatted;
    return;
  }
  if (*formatted == text) return;
  if (options.diff) std::cout << dsl::unified_diff(text, *formatted, diff_name("a/", kStdinName), diff_name("b/", kStdinName));
  else std::cout << kStdinName << "\n";
  if (options.check) status.raise(kExitFindings);
}

void format_file(const FmtOptions& options, const std::string& path, Status& status) {
  std::string error;
  const auto text = read_whole_file(path, error);
  if (!text) {
    report_io(path, error);
    status.raise(kExitUsage);
    return;
  }
  const auto formatted = format_text(path, *text);
  if (!formatted) {
    status.raise(kExitFindings);
    return;
  }
  if (*formatted == *text) return;
  if (options.diff) {
    std::cout << dsl::unified_diff(*text, *formatted, diff_name("a/", path), diff_name("b/", path));
  } else if (options.check) {
    std::cout << path << "\n";
  }
  if (options.check) {
    status.raise(kExitFindings);
    return;
  }
  if (options.diff) return;
  if (!replace_file(path, *formatted, error)) {
    report_io(path, error);
    status.raise(kExitUsage);
    return;
  }
  std::cout << path << "\n";
}

int run_fmt(const FmtOptions& options) {
  Status status;
  for (const auto& argument : options.paths) {
    if (argument == "-") {
      format_stdin(options, status);
      continue;
    }
    const dsl::ExpandedPaths expanded = dsl::expand_policy_paths({argument});
    for (const auto& missing : expanded.missing) {
      report_io(missing, "no such file or directory");
      status.raise(kExitUsage);
    }
    for (const auto& file : expanded.files) {
      if (file == "-") format_stdin(options, status);
      else format_file(options, file, status);
    }
  }
  std::cout.flush();
  return status.code();
}

}  // namespace

void add_fmt_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<FmtOptions>();
  auto* cmd = app.add_subcommand("fmt", "Rewrite policy files in the canonical layout");
  // The subcommand list of `portcullis --help` shows the one-line
  // description; the details go in the footer of `portcullis fmt --help`.
  cmd->footer(
      "Rewrites policy files in the canonical layout: 2-space indentation, one blank line between top-level\n"
      "items, one field per line (short roles on one line), canonical quoting; comments are kept.\n"
      "\n"
      "PATH is a policy file, a directory (every *.policy file below it, hidden and build* folders skipped),\n"
      "or `-` to read a policy from standard input and write the formatted text to standard output.\n"
      "\n"
      "Without flags, each file whose layout changes is rewritten in place (through a temporary file and a\n"
      "rename, so an interrupted run never leaves a half-written policy) and its name is printed.\n"
      "--check changes nothing: it prints the names of the files that are not formatted and exits 1 if any.\n"
      "--diff changes nothing: it prints a unified diff (--- a/PATH, +++ b/PATH, 3 lines of context) of the\n"
      "changes fmt would make; combined with --check it also exits 1 when there is a difference.\n"
      "A file with syntax errors is never rewritten: its diagnostics go to standard error.\n"
      "\n"
      "Exit status: 0 success (or nothing to change); 1 a file has syntax errors, or --check found files\n"
      "to format; 2 usage error, or a path that does not exist or cannot be read or written.");
  cmd->add_option("paths", options->paths, "Policy files, directories, or - for standard input")->required();
  cmd->add_flag("--check", options->check, "Change nothing; list the files that need formatting and exit 1 if any");
  cmd->add_flag("--diff", options->diff, "Change nothing; print a unified diff of the changes instead");
  cmd->callback([options, &exit_code] { exit_code = run_fmt(*options); });
}

}  // namespace portcullis::cli
