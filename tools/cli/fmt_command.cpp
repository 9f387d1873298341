// Placeholder until the formatter lands: registers `fmt` so the binary links.
#include "tools/cli/commands.hpp"
namespace portcullis::cli {
void add_fmt_command(CLI::App&, int&) {}
}  // namespace portcullis::cli
