#pragma once
// The daemon's HTTP/1.1 server (Boost.Asio + Boost.Beast, confined to
// server.cpp).
//
// - A small pool of I/O threads accepts connections and reads and writes
//   messages; handlers run on a separate worker pool because they may block
//   on the store (a durable commit waits for its fsync). I/O threads never
//   wait on disk. Each connection serves one request at a time (no
//   pipelining).
// - Keep-alive as HTTP/1.1 says (Connection: close honoured; HTTP/1.0 only
//   with Connection: keep-alive). Limits: the whole header block must
//   arrive within `header_timeout` (else the connection is closed without
//   an answer) and fit in `max_header_bytes` (431 otherwise); a body larger
//   than `max_body_bytes` gets 413 without being read; the body itself must
//   arrive within `idle_timeout`; an idle keep-alive connection is closed
//   after `idle_timeout`. A malformed message gets 400. After 400, 413 and
//   431 the connection is closed. "Expect: 100-continue" is answered.
// - Every response carries "Server: portcullis" and a Content-Length; the
//   handler's Content-Length, Transfer-Encoding and Connection headers are
//   ignored, except that "Connection: close" from the handler closes the
//   connection after the response.
// - Error bodies the server writes itself are JSON in the API's shape:
//   {"error":{"code":"internal","message":"internal error"}} (500, handler
//   threw), codes "invalid" (400, 413, 431) and "unavailable" (503).
// - stop(): stops accepting (a connect after stop() returns is refused),
//   lets the handlers already running finish and their responses be written
//   (waiting up to 10 s), closes every remaining connection, waits for the
//   workers (a handler cannot be interrupted, so a handler that never
//   returns blocks stop()), and returns when every thread has joined. New
//   requests on open connections after stop() began get 503 with
//   Connection: close. Call it from any thread except a handler (a handler
//   calling stop() would wait for itself).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/http/message.hpp"
#include "runtime/result.hpp"

namespace portcullis::runtime::http {

// Runs on a worker thread, concurrently with other calls; may block. Must not
// throw (a thrown exception is caught, answered with 500, and logged).
using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: an ephemeral port, see Server::port()
  std::size_t io_threads = 2;
  std::size_t worker_threads = 64;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // Receives one line per handler exception or internal I/O failure (never
  // request bodies or headers); may be called from several threads at once.
  // Empty: the line goes to stderr.
  std::function<void(std::string_view)> log;
};

class Server {
 public:
  virtual ~Server() = default;
  // The port actually bound.
  virtual std::uint16_t port() const = 0;
  // Idempotent; see above. Also run by the destructor.
  virtual void stop() = 0;
};

// Binds and starts serving. Errors: io (address in use, cannot bind),
// invalid (unparseable address).
Result<std::unique_ptr<Server>> start_server(const ServerOptions& options, Handler handler);

// The parsing a connection does, over bytes already received: the same
// parser, limits, error answers and conversion to Request as the server,
// without sockets or timers. For the fuzz target (tests/fuzz) and tests.
struct ParsedRequest {
  enum class Outcome {
    complete,    // `request` holds one whole message
    incomplete,  // `raw` ends inside a message: the server would read on
    rejected,    // the server answers `error` and closes the connection
  };
  Outcome outcome = Outcome::incomplete;
  Request request;      // complete only; `remote` stays empty
  Response error;       // rejected only: 400, 413 or 431 in the API's error shape
  std::size_t consumed = 0;  // complete only: bytes of `raw` the message took
};
ParsedRequest parse_request(std::string_view raw, std::size_t max_header_bytes, std::size_t max_body_bytes);

}  // namespace portcullis::runtime::http
