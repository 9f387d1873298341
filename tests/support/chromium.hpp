#pragma once
// Headless Chromium for tests that check what a browser makes of a page
// we render (the evidence pages, the analyze report). Chromium is required,
// not optional: scripts/install-deps.sh installs Debian's `chromium`, and
// PORTCULLIS_CHROMIUM names another binary.

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace portcullis::testing {

inline std::string chromium_path() {
  const char* env = std::getenv("PORTCULLIS_CHROMIUM");
  return env && *env ? env : "/usr/bin/chromium";
}

// What a test says when chromium_path() does not exist.
inline const char* kChromiumMissingHelp =
    ": run scripts/install-deps.sh (it installs the Debian package `chromium`), or set PORTCULLIS_CHROMIUM";

// `arg` as one single-quoted shell word.
inline std::string shell_quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The DOM Chromium builds for `file`, after parsing, styling and running
// whatever the page would run (nothing, if it is right). Empty when
// Chromium could not be started. `profile_dir` keeps its profile out of $HOME.
inline std::string dump_dom(const std::string& file, const std::string& profile_dir) {
  const std::string command = "timeout 60 " + shell_quote(chromium_path()) +
                              " --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions"
                              " --user-data-dir=" + shell_quote(profile_dir) + " --dump-dom " +
                              shell_quote("file://" + file) + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return {};
  std::string out;
  std::array<char, 8192> buffer;
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0) out.append(buffer.data(), n);
  return out;
}

}  // namespace portcullis::testing
