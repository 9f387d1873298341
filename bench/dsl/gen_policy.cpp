// portcullis-gen-policy: writes a large synthetic policy to stdout.
//
//   portcullis-gen-policy --apps 10000 --roles 5 --seed 1 > big.policy
//
// Exit codes: 0 written, 2 usage error.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bench/dsl/generate_policy.hpp"

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "portcullis-gen-policy: %s\n"
               "usage: portcullis-gen-policy [--apps N] [--roles R] [--seed S] > file.policy\n"
               "  --apps N    apps in the catalog (default 10000)\n"
               "  --roles R   roles per app (default 5)\n"
               "  --seed S    PRNG seed; same arguments, same bytes (default 1)\n",
               why);
  return 2;
}

bool parse_number(const char* text, long min, long max, long& out) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < min || value > max) return false;
  out = value;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  long apps = 10000;
  long roles = 5;
  long seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage("writes a synthetic policy");
      return 0;
    }
    if (i + 1 >= argc) return usage("missing value after an option");
    const char* value = argv[++i];
    bool ok = false;
    if (arg == "--apps") ok = parse_number(value, 1, 1000000, apps);
    else if (arg == "--roles") ok = parse_number(value, 1, 1000, roles);
    else if (arg == "--seed") ok = parse_number(value, 0, 4294967295L, seed);
    else return usage("unknown option");
    if (!ok) return usage("invalid number");
  }
  const std::string policy = portcullis::bench::generate_policy(static_cast<int>(apps), static_cast<int>(roles),
                                                                static_cast<unsigned>(seed));
  if (std::fwrite(policy.data(), 1, policy.size(), stdout) != policy.size() || std::fflush(stdout) != 0) {
    std::perror("portcullis-gen-policy: write");
    return 1;
  }
  return 0;
}
