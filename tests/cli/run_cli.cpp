#include "run_cli.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace portcullis::testing {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

}  // namespace

CliResult run_cli(const std::vector<std::string>& args, const std::string& cwd, const std::string& input) {
  TempDir io;
  const std::string in_path = io.write("stdin", input);
  std::string command;
  if (!cwd.empty()) command += "cd " + shell_quote(cwd) + " && ";
  command += shell_quote(PORTCULLIS_CLI);
  for (const auto& arg : args) command += " " + shell_quote(arg);
  command += " <" + shell_quote(in_path) + " >" + shell_quote(io.path() + "/out") + " 2>" +
             shell_quote(io.path() + "/err");
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(io.path() + "/out");
  result.err = slurp(io.path() + "/err");
  return result;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "portcullis-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& relative, const std::string& content) const {
  const auto full = std::filesystem::path(path_) / relative;
  std::filesystem::create_directories(full.parent_path());
  std::ofstream(full, std::ios::binary) << content;
  return full.string();
}

std::string TempDir::read(const std::string& relative) const { return slurp((std::filesystem::path(path_) / relative).string()); }

}  // namespace portcullis::testing
