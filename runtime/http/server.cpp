// The only translation unit that sees Boost.Asio and Boost.Beast; see
// server.hpp for the contract.
//
// Threading model:
// - `ioc_` is run by `io_threads` threads. Each connection's socket lives on
//   its own strand, so a Session's members are only touched by one thread at
//   a time without locks; the acceptor has a strand of its own.
// - Handlers run on `workers_`; the finished Response is posted back to the
//   session's strand and written there.
// - The server-wide state that sessions and stop() share (in-flight count,
//   session registry, the stopping flag) is guarded by `mu_`.
//
// Lifetime: sessions refer to their ServerImpl by reference. That is safe
// because stop() joins every thread before the ServerImpl goes away, and the
// members are declared so that the objects that may still hold sessions
// (the worker pool's queue, then the io_context's queue) are destroyed
// before the state a Session's destructor touches.

#include <utility>  // before Asio: Boost 1.74 Asio uses std::exchange without including it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "runtime/http/server.hpp"

namespace portcullis::runtime::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// After a response that closes the connection we stop sending and drain what
// the peer is still sending for at most this long. Closing a socket with
// unread data makes the kernel send RST, which can destroy the response
// (typically a 413 sent before the client finished uploading) before the
// client reads it.
constexpr std::chrono::milliseconds kLingerTimeout{2'000};
// How long stop() waits for in-flight handlers and their writes, and then
// for closed sessions to unwind, before it stops the io_context regardless.
constexpr std::chrono::seconds kDrainTimeout{10};
constexpr std::chrono::seconds kSessionUnwindTimeout{2};
constexpr std::size_t kFirstReadChunk = 4096;

Response json_error(int status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.body = std::string(R"({"error":{"code":")") + std::string(code) + R"(","message":")" + std::string(message) +
           "\"}}";
  return r;
}

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

// Shared by the sessions and parse_request(), so the fuzz target exercises
// exactly what a connection runs.
using RequestParser = bhttp::request_parser<bhttp::string_body>;

void apply_limits(RequestParser& parser, std::size_t max_header_bytes, std::size_t max_body_bytes) {
  parser.header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(static_cast<std::uint64_t>(max_body_bytes));
}

// The answer to a failed read; nullopt when there is nobody to answer (the
// peer closed, a timeout, a reset, stop()).
std::optional<Response> read_error_response(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit) return json_error(431, "invalid", "request header fields too large");
  if (ec == bhttp::error::body_limit) return json_error(413, "invalid", "request body too large");
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return std::nullopt;
  if (is_http_error(ec)) return json_error(400, "invalid", "malformed HTTP request");
  return std::nullopt;
}

Request to_request(bhttp::request<bhttp::string_body>& msg) {
  Request request;
  request.method = std::string(msg.method_string());
  request.target = std::string(msg.target());
  request.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& field : msg) {
    request.headers.push_back(Header{std::string(field.name_string()), std::string(field.value())});
  }
  request.body = std::move(msg.body());
  return request;
}

class Session;

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& options, Handler handler)
      : options_(options),
        handler_(std::move(handler)),
        acceptor_(asio::make_strand(ioc_)),
        workers_(std::max<std::size_t>(1, options.worker_threads)) {}

  ~ServerImpl() override { stop(); }

  std::uint16_t port() const override { return port_; }

  Status listen() {
    beast::error_code ec;
    const auto address = asio::ip::make_address(options_.address, ec);
    if (ec) return make_error(ErrorCode::invalid, "http server: invalid address '" + options_.address + "'");
    const tcp::endpoint endpoint{address, options_.port};
    const auto where = options_.address + ":" + std::to_string(options_.port);
    if (acceptor_.open(endpoint.protocol(), ec); ec) return io_error("open", where, ec);
    // Lets a restarted daemon bind while old connections sit in TIME_WAIT.
    if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec); ec) return io_error("configure", where, ec);
    if (acceptor_.bind(endpoint, ec); ec) return io_error("bind", where, ec);
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) return io_error("listen", where, ec);
    port_ = acceptor_.local_endpoint(ec).port();
    if (ec) return io_error("listen", where, ec);
    return {};
  }

  void run() {
    work_.emplace(ioc_.get_executor());
    asio::post(acceptor_.get_executor(), [this] { accept(); });
    const auto n = std::max<std::size_t>(1, options_.io_threads);
    io_threads_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      io_threads_.emplace_back([this] { run_io(); });
    }
    started_ = true;
  }

  void stop() override {
    std::lock_guard stop_lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    if (!started_) {
      beast::error_code ec;
      acceptor_.close(ec);
      return;
    }

    // 1. No new connections. Wait for the close so that a connect attempt
    //    after stop() returns is refused rather than queued in the backlog.
    std::promise<void> closed;
    asio::post(acceptor_.get_executor(), [this, &closed] {
      beast::error_code ec;
      acceptor_.close(ec);
      closed.set_value();
    });
    closed.get_future().wait();

    // 2. Let the requests already being handled finish and be written.
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kDrainTimeout, [this] { return in_flight_ == 0; });
    }

    // 3. Close every connection that is left: idle keep-alive ones, ones
    //    half-way through a request, and any handler that overran step 2.
    close_all_sessions();

    // 4. Handlers that overran still run to completion: a worker cannot be
    //    interrupted. Their responses go to closed sockets.
    workers_.join();
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kSessionUnwindTimeout, [this] { return sessions_.empty(); });
    }

    // 5. Whatever is still queued is destroyed with the io_context.
    work_.reset();
    ioc_.stop();
    for (auto& t : io_threads_) t.join();
    io_threads_.clear();
  }

  // --- used by Session ---------------------------------------------------

  const ServerOptions& options() const { return options_; }

  // Counts a request as in flight and says whether it may be served (false
  // once stop() has begun: answer 503). Counting first, under the same lock
  // as the flag, means stop() either sees the request in its drain or the
  // request sees `stopping_`.
  bool begin_request() {
    std::lock_guard lock(mu_);
    ++in_flight_;
    return !stopping_;
  }

  void end_request() {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (in_flight_ == 0) cv_.notify_all();
  }

  void unregister(Session* s) {
    std::lock_guard lock(mu_);
    sessions_.erase(s);
    if (sessions_.empty()) cv_.notify_all();
  }

  void dispatch(std::shared_ptr<Session> session, Request request);

  void log(std::string_view line) const {
    if (options_.log) {
      options_.log(line);
    } else {
      std::fprintf(stderr, "portcullis http: %.*s\n", static_cast<int>(line.size()), line.data());
    }
  }

 private:
  static Error io_error(std::string_view what, const std::string& where, const beast::error_code& ec) {
    return make_error(ErrorCode::io,
                      "http server: cannot " + std::string(what) + " " + where + ": " + ec.message());
  }

  void run_io() {
    // Our completion handlers do not throw; this only guards against
    // std::bad_alloc and the like taking the whole process down.
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        log(std::string("io thread: ") + e.what());
      }
    }
  }

  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           [this](beast::error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
  }

  void on_accept(beast::error_code ec, tcp::socket socket);

  void close_all_sessions();

  ServerOptions options_;
  Handler handler_;
  std::uint16_t port_ = 0;
  bool started_ = false;

  std::mutex stop_mu_;  // serialises stop() callers
  bool stopped_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::size_t in_flight_ = 0;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;

  // Declaration order matters; see the comment at the top of the file.
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_{ioc_};
  asio::thread_pool workers_;
  std::vector<std::thread> io_threads_;

};

// One connection. Serves one request at a time: read, hand to a worker,
// write, then read the next one (no pipelining).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerImpl& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {
    beast::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~Session() {
    if (in_flight_) server_.end_request();
    server_.unregister(this);
  }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    // The first request's header must arrive within header_timeout of the
    // connection; there is no idle phase before it.
    read_header();
  }

  // Posted by stop(); runs on the strand.
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // Called on the strand with the handler's answer.
  void respond(Response response, bool close_after) {
    if (response.status < 100 || response.status > 999) {
      server_.log("handler returned invalid status " + std::to_string(response.status));
      response = json_error(500, "internal", "internal error");
    }
    for (const auto& h : response.headers) {
      if (header_equals(h.name, "Connection") && header_equals(h.value, "close")) close_after = true;
    }
    close_after_ = close_after;

    res_ = {};
    res_.version(version_);
    res_.result(static_cast<unsigned>(response.status));
    res_.set(bhttp::field::server, "portcullis");
    if (!response.content_type.empty()) res_.set(bhttp::field::content_type, response.content_type);
    for (auto& h : response.headers) {
      // Framing and connection management are ours to decide.
      if (header_equals(h.name, "Content-Length") || header_equals(h.name, "Transfer-Encoding") ||
          header_equals(h.name, "Connection")) {
        continue;
      }
      res_.insert(h.name, h.value);
    }
    res_.body() = std::move(response.body);
    res_.keep_alive(!close_after_);
    res_.prepare_payload();
    if (head_) {
      // A response to HEAD announces the length of the body it omits.
      res_.body().clear();
    }

    stream_.expires_after(server_.options().idle_timeout);
    bhttp::async_write(stream_, res_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

 private:
  // Between keep-alive requests: wait up to idle_timeout for the first byte,
  // then give the rest of the header block header_timeout.
  void await_next() {
    if (buffer_.size() > 0) {
      read_header();
      return;
    }
    stream_.expires_after(server_.options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadChunk),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) {
                                self->close();  // idle timeout, peer went away, or stop()
                                return;
                              }
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    parser_.emplace();
    apply_limits(*parser_, server_.options().max_header_bytes, server_.options().max_body_bytes);
    stream_.expires_after(server_.options().header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    if (parser_->is_done()) {
      on_request();
      return;
    }
    const auto& req = parser_->get();
    const auto expect_field = req[bhttp::field::expect];
    const std::string_view expect(expect_field.data(), expect_field.size());
    if (req.version() >= 11 && header_equals(expect, "100-continue")) {
      // The client waits for our go-ahead before sending the body; the body
      // limit was already checked against Content-Length in the header.
      continue_ = {};
      continue_.version(11);
      continue_.result(bhttp::status::continue_);
      stream_.expires_after(server_.options().idle_timeout);
      bhttp::async_write(stream_, continue_, [self = shared_from_this()](beast::error_code wec, std::size_t) {
        if (wec) {
          self->close();
          return;
        }
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    // The body is bounded by max_body_bytes, so idle_timeout (not the short
    // header_timeout) bounds how long a slow upload may take.
    stream_.expires_after(server_.options().idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->on_read_error(ec);
        return;
      }
      self->on_request();
    });
  }

  void on_read_error(beast::error_code ec) {
    if (auto answer = read_error_response(ec)) {
      respond(std::move(*answer), true);
    } else {
      close();  // the peer closed, a timeout, a reset, or stop()
    }
  }

  void on_request() {
    auto msg = parser_->release();
    parser_.reset();
    version_ = msg.version();
    head_ = msg.method() == bhttp::verb::head;
    const bool keep_alive = msg.keep_alive();

    Request request = to_request(msg);
    request.remote = remote_;

    in_flight_ = true;
    if (!server_.begin_request()) {
      respond(json_error(503, "unavailable", "server is stopping"), true);
      return;
    }
    close_after_ = !keep_alive;
    server_.dispatch(shared_from_this(), std::move(request));
  }

  void on_write(beast::error_code ec) {
    if (in_flight_) {
      in_flight_ = false;
      server_.end_request();
    }
    if (ec) {
      close();
      return;
    }
    if (close_after_) {
      linger_close();
      return;
    }
    await_next();
  }

  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kLingerTimeout);  // one deadline for the whole drain
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buf_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->close();
        return;
      }
      self->drain();
    });
  }

 public:
  bool close_after() const { return close_after_; }
  asio::any_io_executor stream_executor() { return stream_.get_executor(); }

 private:
  ServerImpl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  bhttp::response<bhttp::empty_body> continue_;
  std::array<char, 4096> drain_buf_{};
  std::string remote_;
  unsigned version_ = 11;
  bool close_after_ = false;
  bool head_ = false;
  bool in_flight_ = false;
};

void ServerImpl::on_accept(beast::error_code ec, tcp::socket socket) {
  // Runs on the acceptor's strand, so is_open() does not race with stop().
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;  // stop() closed the acceptor
  if (ec) {
    // E.g. out of file descriptors: back off instead of spinning.
    log("accept: " + ec.message());
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([this](beast::error_code tec) {
      if (!tec) asio::post(acceptor_.get_executor(), [this] { accept(); });
    });
    return;
  }
  auto session = std::make_shared<Session>(*this, std::move(socket));
  bool refused = false;
  {
    std::lock_guard lock(mu_);
    refused = stopping_;
    if (!refused) sessions_.emplace(session.get(), session);
  }
  if (refused) return;  // stop() has begun; the session and its socket die here, outside mu_
  // Start on the session's own strand: from here on only that strand touches it.
  auto& ref = *session;
  asio::post(ref.stream_executor(), [session = std::move(session)] { session->start(); });
  accept();
}

void ServerImpl::dispatch(std::shared_ptr<Session> session, Request request) {
  asio::post(workers_, [this, session = std::move(session), request = std::move(request)]() mutable {
    Response response;
    try {
      response = handler_(request);
    } catch (const std::exception& e) {
      log("handler threw on " + request.method + " " + std::string(request.path()) + ": " + e.what());
      response = json_error(500, "internal", "internal error");
    } catch (...) {
      log("handler threw on " + request.method + " " + std::string(request.path()));
      response = json_error(500, "internal", "internal error");
    }
    auto& s = *session;
    asio::post(s.stream_executor(), [session = std::move(session), response = std::move(response)]() mutable {
      session->respond(std::move(response), session->close_after());
    });
  });
}

void ServerImpl::close_all_sessions() {
  std::vector<std::weak_ptr<Session>> all;
  {
    std::lock_guard lock(mu_);
    all.reserve(sessions_.size());
    for (const auto& [ptr, weak] : sessions_) all.push_back(weak);
  }
  // Outside the lock: dropping the last reference runs ~Session, which takes mu_.
  for (auto& weak : all) {
    if (auto s = weak.lock()) {
      auto& ref = *s;
      asio::post(ref.stream_executor(), [s = std::move(s)] { s->close(); });
    }
  }
}

}  // namespace

ParsedRequest parse_request(std::string_view raw, std::size_t max_header_bytes, std::size_t max_body_bytes) {
  ParsedRequest out;
  RequestParser parser;
  apply_limits(parser, max_header_bytes, max_body_bytes);
  // The server's reads hand the parser everything buffered so far; so does
  // this, in one piece.
  parser.eager(true);
  std::size_t used = 0;
  while (!parser.is_done()) {
    beast::error_code ec;
    const std::size_t n = parser.put(asio::buffer(raw.data() + used, raw.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) {
      if (used >= raw.size() || n == 0) return out;  // incomplete: the server would wait for more bytes
      continue;
    }
    if (ec) {
      auto answer = read_error_response(ec);
      if (!answer) return out;
      out.outcome = ParsedRequest::Outcome::rejected;
      out.error = std::move(*answer);
      return out;
    }
    if (n == 0 && !parser.is_done()) return out;
  }
  auto msg = parser.release();
  out.outcome = ParsedRequest::Outcome::complete;
  out.request = to_request(msg);
  out.consumed = used;
  return out;
}

Result<std::unique_ptr<Server>> start_server(const ServerOptions& options, Handler handler) {
  try {
    auto server = std::make_unique<ServerImpl>(options, std::move(handler));
    if (auto st = server->listen(); !st) return st.error();
    server->run();
    return std::unique_ptr<Server>(std::move(server));
  } catch (const std::exception& e) {
    // Thread creation or allocation failed; nothing else here throws.
    return make_error(ErrorCode::io, std::string("http server: cannot start: ") + e.what());
  }
}

}  // namespace portcullis::runtime::http
