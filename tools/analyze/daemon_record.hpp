#pragma once
// The daemon's own record of requests, for `portcullis analyze --db`.
//
// read_daemon_requests() opens the SQLite database at `path` read-only (no
// migration, nothing written, as `portcullis audit export` does) and
// decodes every row of the `requests` table through runtime::codec, oldest
// first. Fails (as a value) when the file cannot be opened, is not a
// Portcullis database, or a stored state does not decode (the message names
// the request). Any thread may call it; each call opens its own connection.

#include <string>
#include <vector>

#include "interpreter/request_state.hpp"
#include "runtime/result.hpp"

namespace portcullis::analyze {

runtime::Result<std::vector<interpreter::RequestState>> read_daemon_requests(const std::string& path);

}  // namespace portcullis::analyze
